"""Issue 17: what the outbound pipeline holds while Brevo imports (flat memory), and the import pace
that learns from Brevo's own times of its processes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.sync import distinct_emails, setup_integration
from toolkit.mapping.types import Mapping
from toolkit.rules.hashing import brevo_values, canonical_values
from toolkit.sync import outbound
from toolkit.sync.batches import ImportPace, Pipeline, Planned, Sent, process_seconds
from toolkit.sync.prepare import prepare


def test_import_pace_follows_brevo_own_times_of_an_import_up_and_down() -> None:
    pace = ImportPace(8_000)
    assert pace.wait(40_000, elapsed=0.0) == pytest.approx(5.2)
    # Brevo's times say it took 3 s: the next import of the same size waits 3 s and a margin.
    pace.learn(40_000, done_after=5.25, polled_after=5.2, took=3.0)
    assert pace.wait(40_000, elapsed=0.0) == pytest.approx(3.0 * 1.15)
    pace.learn(40_000, done_after=3.7, polled_after=3.6, took=2.0)  # faster: the slowest still counts
    assert pace.wait(40_000, elapsed=0.0) == pytest.approx(3.0 * 1.15)
    pace.learn(40_000, done_after=5.1, polled_after=3.6, took=4.5)  # slower: followed at once
    assert pace.wait(40_000, elapsed=0.0) == pytest.approx(4.5 * 1.15)
    for _ in range(3):  # once the slow one is three imports back, it no longer counts
        pace.learn(40_000, done_after=3.7, polled_after=3.6, took=2.5)
    assert pace.wait(40_000, elapsed=0.0) == pytest.approx(2.5 * 1.15)
    # Without Brevo's times, a poll that found the import done says nothing: the estimate stays.
    pace.learn(40_000, done_after=3.1, polled_after=3.0)
    assert pace.wait(40_000, elapsed=0.0) == pytest.approx(2.5 * 1.15)


def test_process_seconds_reads_brevo_times_in_each_form_and_only_when_they_say_enough() -> None:
    def seconds(created: Any, completed: Any) -> float | None:
        return process_seconds(
            {"id": 1, "status": "completed", "created_at": created, "completed_at": completed}
        )

    assert seconds("2026-12-06T10:00:00.250Z", "2026-12-06T10:00:03.500Z") == pytest.approx(3.25)
    assert seconds("2026-12-06T10:00:00.250+00:00", "2026-12-06T11:00:03.500+01:00") == pytest.approx(3.25)
    # Cut to the second, each time may be up to a second early: the longest it can have taken,
    # and only for an import long enough for a second to matter little.
    assert seconds("2026-12-06T10:00:00Z", "2026-12-06T10:00:03Z") is None
    assert seconds("2026-12-06T10:00:00Z", "2026-12-06T10:00:08Z") is None
    assert seconds("2026-12-06T10:00:00Z", "2026-12-06T10:00:09Z") == pytest.approx(10.0)
    assert seconds("2026-12-06T10:00:00.100Z", "2026-12-06T10:00:00.600Z") is None  # latency, not rows
    assert seconds(None, "2026-12-06T10:00:03.500Z") is None
    assert process_seconds({"id": 1, "status": "completed"}) is None
    assert seconds("yesterday", "2026-12-06T10:00:03.500Z") is None
    assert seconds("2026-12-06T10:00:09.000Z", "2026-12-06T10:00:03.000Z") is None


def test_prepared_values_hold_the_row_own_texts_where_they_are_equal() -> None:
    fields = [("EMAIL", "EMAIL", "Email", "email"), ("LASTNAME", "text", "LastName", "string")]
    fields.append(("SMS", "SMS", "MobilePhone", "phone"))
    mapping = Mapping.from_json(
        {
            "object": "Contact",
            "country_fields": [],
            "pairs": [[a, f] for a, _, f, _ in fields],
            "fields": [
                {"brevo_attribute": a, "kind": k, "sf_field": f, "sf_type": t, "label": f}
                for a, k, f, t in fields
            ],
        }
    )
    records: list[dict[str, Any]] = [
        {"Id": "003A", "Email": "ann@example.com", "LastName": "Lee", "MobilePhone": "+49 151 1234 5678"},
        {"Id": "003B", "Email": " Bob@Example.com ", "LastName": "Ng", "MobilePhone": None},
    ]
    page = prepare(records, mapping, object="Contact")
    for row, item in zip(page.rows, page.prepared, strict=True):
        assert item.values == canonical_values(brevo_values(row, mapping), mapping)
        for key, value in item.values.items():
            own = row.get("email") if key == "EMAIL" else row["attributes"].get(key)
            assert (value is own) == (value == own)
    assert page.prepared[0].values["EMAIL"] is page.rows[0]["email"]
    assert page.prepared[0].values["SMS"] is page.rows[0]["attributes"]["SMS"]


def test_a_sent_batch_holds_no_encodings_and_a_batch_still_filling_no_links(env_factory: Any) -> None:
    env = env_factory(contacts=3_000, seed=5, import_max_bytes=120_000)
    setup_integration(env.tk)
    filling: list[int] = []
    sent: list[int] = []
    add, finish = Pipeline.add, outbound._finish

    def spy_add(self: Pipeline[Sent], planned: Planned, records: int = 0) -> None:
        filling.append(len(planned.links))
        add(self, planned, records)
        if self._buffer is not None:
            filling.append(len(self._buffer.links))

    def spy_finish(ctx: Any, batch: Sent, pace: ImportPace) -> None:
        assert not batch.planned.encoded  # sent: the import bodies are Brevo's now
        written = {w.sf_id for w in batch.planned.work if w.row is not None}
        assert set(batch.planned.links) == written  # worked out while Brevo imported them
        sent.append(len(written))
        finish(ctx, batch, pace)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Pipeline, "add", spy_add)
        patch.setattr(outbound, "_finish", spy_finish)
        result = env.tk.run("contacts")
    assert result.ok and result.counts["to_brevo.create"] == distinct_emails(env) == sum(sent)
    assert len(sent) >= 2 and not any(filling)
