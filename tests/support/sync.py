"""Fixtures for the engine's tests: a sandbox, a Toolkit on a fresh state directory, an integration.

Everything goes over real HTTPS to the sandbox; the toolkit signs in with the client-credentials
flow against the sandbox's login URL, as a scheduled run would.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.postgres import shared_server
from toolkit.api import Toolkit
from toolkit.cli.demo import connect_sandbox, sandbox_settings
from toolkit.config import Settings, save_settings
from toolkit.sandbox import Sandbox, SandboxConfig

MAPPING = {"EMAIL": "Email", "FIRSTNAME": "FirstName", "LASTNAME": "LastName", "SMS": "MobilePhone"}


@dataclass
class Env:
    """A running sandbox and a toolkit connected to it."""

    sandbox: Sandbox
    tk: Toolkit
    settings: Settings

    def sf_calls(self, method: str | None = None, prefix: str = "/services/data") -> int:
        return self.sandbox.log.count("salesforce", method, prefix)

    def brevo_calls(self, method: str | None = None, prefix: str = "/v3") -> int:
        return self.sandbox.log.count("brevo", method, prefix)

    def brevo_contact(self, sf_id: str) -> dict[str, Any] | None:
        return self.tk.brevo().get_contact(sf_id, identifier_type="ext_id")


#: ``TOOLKIT_TEST_BACKEND=postgresql`` runs the tests that build their toolkit with :func:`make_env`
#: (the engine's, the reliability suite's, ``env_factory``'s) with their state on the session's
#: PostgreSQL server, a fresh database per environment, instead of SQLite: an opt-in while the
#: engine's port is checked (issue 16), since parametrising them would double their time.
TEST_BACKEND = os.environ.get("TOOLKIT_TEST_BACKEND", "sqlite")


def make_env(
    tmp_path: Path,
    *,
    contacts: int = 0,
    leads: int = 0,
    seed: int = 1,
    rule_share: float = 0.0,
    **settings: Any,
) -> tuple[Sandbox, Toolkit]:
    """A started sandbox and a Toolkit on ``tmp_path/state`` connected to it (connection ``sandbox-org``)."""
    if TEST_BACKEND == "postgresql" and "state_url" not in settings:
        settings["state_url"] = shared_server().create_database()
    sandbox = Sandbox(
        SandboxConfig(contacts=contacts, leads=leads, seed=seed, rule_share=rule_share, brevo_rate_limit=0)
    )
    info = sandbox.start()
    tk = Toolkit(sandbox_settings(info, tmp_path / "state", **settings))
    connect_sandbox(tk, info, "sandbox-org")
    return sandbox, tk


def write_settings(settings: Settings) -> Path:
    """Save ``settings`` (those that differ from the defaults) to its ``toolkit.toml``, as a user
    would: a child process (papermill, ``toolkit serve``) then reads the same ones."""
    defaults = Settings(state_dir=settings.state_dir)
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(Settings):
        value = getattr(settings, spec.name)
        if spec.name == "state_dir" or value == getattr(defaults, spec.name):
            continue
        values[spec.name] = (
            str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
        )
    return save_settings(settings.state_dir, **values)


def distinct_emails(env: Env, obj: str = "Contact") -> int:
    """What a first sync of generated data writes: one record per e-mail (D1), none without one (Y6)."""
    return len(
        {str(r["Email"]).strip().lower() for r in env.sandbox.salesforce.records(obj) if r.get("Email")}
    )


def setup_integration(
    tk: Toolkit,
    name: str = "contacts",
    obj: str = "Contact",
    *,
    mapping: dict[str, str] | None = None,
    **kwargs: Any,
) -> int:
    tk.create_integration(name, obj)
    tk.use_connection(name, "sandbox-org")
    tk.accept_opt_in(name)
    tk.set_mapping(name, mapping or MAPPING, **kwargs)
    list_id = tk.choose_list(name, new_list=f"Salesforce {obj}s")
    tk.activate(name)
    return list_id


@pytest.fixture
def env_factory(tmp_path: Path) -> Iterator[Any]:
    made: list[tuple[Sandbox, Toolkit]] = []

    def _make(**kwargs: Any) -> Env:
        sandbox, tk = make_env(tmp_path / f"env{len(made)}", **kwargs)
        made.append((sandbox, tk))
        return Env(sandbox, tk, tk.settings)

    yield _make
    for sandbox, tk in made:
        tk.close()
        sandbox.stop()
