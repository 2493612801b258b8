"""``toolkit serve``: one long-running process that runs the active integrations by itself (issue 14).

- :mod:`.app`: the process: APScheduler jobs (each integration on its schedule, the Salesforce
  poll, the weekly reconciliation, the webhook inbox), the Voilà apps and the webhook receiver;
- :mod:`.runner`: a scheduled run as a papermill run of ``sync.ipynb``, its notebook and report
  kept (with a retention), retried with backoff;
- :mod:`.receiver`: Brevo's marketing webhooks, authenticated, recorded, answered at once;
- :mod:`.events`: the targeted runs that apply the recorded events;
- :mod:`.hooks`: the webhooks registered at Brevo for active integrations (removed when not).
"""
