"""The toolkit changes the benchmarks (issue 6) led to: the outbound pipeline and its packing,
import bodies counted without being built, and rejections counted in SQL for the dashboard.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from bench.history import write_history
from toolkit import audit
from toolkit.brevo.imports import body_row_counts, import_bodies
from toolkit.store import RejectionState, Store
from toolkit.sync.batches import ImportPace, Pipeline, Planned, import_blacklist
from toolkit.sync.plan import Write, WriteKind


def _row(n: int, size: int = 80) -> dict[str, Any]:
    return {"email": f"c{n}@example.com", "attributes": {"EXT_ID": f"003{n:012d}AAA", "LASTNAME": "x" * size}}


def _page(start: int, count: int) -> Planned:
    return Planned(
        [
            Write(WriteKind.CREATE, _row(n)["attributes"]["EXT_ID"], _row(n))  # type: ignore[arg-type]
            for n in range(start, start + count)
        ]
    )


class Recorder:
    """send/finish callbacks that record the order of events."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []
        self.sent: list[Planned] = []

    def send(self, planned: Planned) -> int:
        self.sent.append(planned)
        self.events.append(("send", len(self.sent)))
        return len(self.sent)

    def finish(self, handle: int) -> None:
        self.events.append(("finish", handle))


def test_body_row_counts_cut_rows_exactly_as_import_bodies_does() -> None:
    rows = [_row(n, size=n % 300) for n in range(3000)]
    bodies = list(import_bodies(rows, list_ids=[7], max_bytes=40_000))
    counts = body_row_counts(rows, list_ids=[7], max_bytes=40_000)
    assert len(bodies) == len(counts) > 5
    assert [len(json.loads(b)["jsonBody"]) for b in bodies] == counts


def test_packing_sends_the_fewest_imports_and_keeps_one_batch_in_flight() -> None:
    recorder = Recorder()
    flow = Pipeline(recorder.send, recorder.finish, pack=True, list_ids=[7], max_bytes=80_000)
    for start in range(0, 2000, 300):  # pages of 300 rows (50 kB); a body holds about 480
        flow.add(_page(start, min(300, 2000 - start)))
    flow.close(cursor="2026-11-27T10:00:00.000+0000")
    sent_rows = [w.row for batch in recorder.sent for w in batch.work]
    assert sent_rows == [_row(n) for n in range(2000)]  # every row once, in order
    whole = body_row_counts([r for r in sent_rows if r], list_ids=[7], max_bytes=80_000)
    per_batch = [len(body_row_counts(b.import_rows(), list_ids=[7], max_bytes=80_000)) for b in recorder.sent]
    assert sum(per_batch) == len(whole) < len(range(0, 2000, 300))  # fewer imports than pages
    assert recorder.sent[-1].cursor == "2026-11-27T10:00:00.000+0000" and not recorder.sent[0].cursor
    in_flight = 0
    for kind, _ in recorder.events:
        in_flight += 1 if kind == "send" else -1
        assert 0 <= in_flight <= 1
    assert in_flight == 0


def _flagged_page(start: int, count: int, every: int) -> Planned:
    """Like :func:`_page`, every ``every``-th record opted out of e-mail (B8)."""
    page = _page(start, count)
    page.work = [
        dataclasses.replace(w, flags={"emailBlacklisted": True}) if (start + i) % every == 0 else w
        for i, w in enumerate(page.work)
    ]
    return page


def _imports(batch: Planned) -> list[tuple[frozenset[str], int]]:
    """The imports a batch makes: (blacklist flags, rows) per body, as the engine groups them."""
    groups: dict[frozenset[str], list[Any]] = {}
    for write in batch.import_writes():
        groups.setdefault(import_blacklist(write), []).append(batch.row_of(write))
    return [
        (flags, count)
        for flags, rows in groups.items()
        for count in body_row_counts(rows, list_ids=[7], max_bytes=80_000, blacklist=flags)
    ]


def test_b8_packing_fills_the_opted_out_rows_own_imports_across_pages_as_the_others() -> None:
    recorder = Recorder()
    flow = Pipeline(recorder.send, recorder.finish, pack=True, list_ids=[7], max_bytes=80_000)
    for start in range(0, 6000, 300):  # 6,000 rows, a tenth opted out; a body holds about 480
        flow.add(_flagged_page(start, 300, every=10))
    flow.close()
    sent = [w.sf_id for batch in recorder.sent for w in batch.work]
    assert sorted(sent) == sorted(w.sf_id for start in range(0, 6000, 300) for w in _page(start, 300).work)
    imports = [item for batch in recorder.sent for item in _imports(batch)]
    flagged = [rows for flags, rows in imports if flags == {"emailBlacklisted"}]
    plain = [rows for flags, rows in imports if not flags]
    assert sum(flagged) == 600 and sum(plain) == 5400
    # the fewest imports: as many as the rows of each kind fill, not one opted-out import a batch
    assert len(flagged) == len(body_row_counts([_row(n) for n in range(600)], list_ids=[7], max_bytes=80_000))
    assert len(plain) == len(body_row_counts([_row(n) for n in range(5400)], list_ids=[7], max_bytes=80_000))
    assert len(recorder.sent) > len(flagged)  # so the opted-out rows waited for later batches


def test_knowing_the_load_size_packing_cuts_as_many_imports_of_even_size_and_sends_the_first_sooner() -> None:
    def run(expect: bool) -> tuple[list[int], int]:
        recorder = Recorder()
        flow = Pipeline(recorder.send, recorder.finish, pack=True, list_ids=[7], max_bytes=80_000)
        if expect:
            flow.expect(1100)
        first_sent_after = 0
        for start in range(0, 1100, 100):
            flow.add(_page(start, 100), 100)
            if not first_sent_after and recorder.sent:
                first_sent_after = start + 100
        flow.close(cursor="2026-11-27T10:00:00.000+0000")
        rows = [w.row for batch in recorder.sent for w in batch.work]
        assert rows == [_row(n) for n in range(1100)]  # every row once, in order
        sizes = [
            len(body)
            for batch in recorder.sent
            for body in import_bodies(batch.import_rows(), list_ids=[7], max_bytes=80_000)
        ]
        return sizes, first_sent_after

    full, full_first = run(expect=False)
    even, even_first = run(expect=True)
    assert len(even) == len(full) == 3  # 181 kB: three imports either way, the fewest possible
    assert (
        max(full) - min(full) > 50_000 and max(even) - min(even) < 5_000
    )  # 80, 80, 25 kB against 63, 62, 60
    assert even_first < full_first  # the first import leaves after fewer pages


def test_without_packing_whole_pages_gather_into_one_import_each_batch_with_its_last_page_cursor() -> None:
    recorder = Recorder()
    flow = Pipeline(recorder.send, recorder.finish, list_ids=[7], max_bytes=80_000)  # a body holds ~480 rows

    def page(start: int, cursor: str) -> Planned:
        planned = _page(start, 200)
        planned.cursor = cursor
        return planned

    flow.add(page(0, "c1"))
    flow.add(page(200, "c2"))
    assert recorder.events == []  # 400 rows still fit in one import: nothing sent yet
    flow.add(page(400, "c3"))  # 600 would not: the first two pages go, the third waits
    assert recorder.events == [("send", 1)] and recorder.sent[0].cursor == "c2"
    flow.add(page(600, "c4"))
    flow.add(page(800, "c5"))  # the batch in flight is committed before the next is sent
    assert recorder.events == [("send", 1), ("finish", 1), ("send", 2)] and recorder.sent[1].cursor == "c4"
    flow.close()
    assert recorder.events[-2:] == [("send", 3), ("finish", 3)] and recorder.sent[2].cursor == "c5"
    sent_rows = [w.row for batch in recorder.sent for w in batch.work]
    assert sent_rows == [_row(n) for n in range(1000)]  # every row once, in order, pages never cut
    assert [len(batch.work) for batch in recorder.sent] == [400, 400, 200]
    assert all(
        len(body_row_counts(batch.import_rows(), list_ids=[7], max_bytes=80_000)) == 1
        for batch in recorder.sent
    )


def test_an_error_while_planning_still_commits_the_batch_already_sent() -> None:
    recorder = Recorder()
    with pytest.raises(RuntimeError), Pipeline(recorder.send, recorder.finish, max_bytes=80_000) as flow:
        flow.add(_page(0, 300))
        flow.add(_page(300, 300))  # does not fit with the first page: the first is sent
        raise RuntimeError("the next page could not be read")
    assert recorder.events == [("send", 1), ("finish", 1)]  # the page not sent is read again next time


def test_rejection_counts_match_the_rejections_they_count(tmp_path: Path) -> None:
    write_history(tmp_path, runs=300, rejections=4000)
    with Store.open(tmp_path) as store:
        every = audit.rejections(store)
        counts = audit.rejection_counts(store)
        assert list(counts.columns) == list(audit.REJECTION_COUNT_COLUMNS) and counts["count"].sum() == 4000
        expected = every.groupby(["integration", "rule", "direction", "state"]).size()
        found = counts.set_index(["integration", "rule", "direction", "state"])["count"]
        assert found.sort_index().to_dict() == expected.sort_index().to_dict()
        open_y9 = audit.rejection_counts(store, state=RejectionState.OPEN, rule="Y9", integration="leads")
        assert open_y9["count"].sum() == len(
            audit.rejections(store, state=RejectionState.OPEN, rule="Y9", integration="leads")
        )
        plan = store.db.execute(
            "EXPLAIN QUERY PLAN SELECT integration_id, rule, direction, COUNT(*), "
            "COUNT(resolved_at) FROM rejections GROUP BY integration_id, rule, direction"
        )
        assert "COVERING INDEX rejections_counts" in str(plan.fetchall())  # the table is not read


def test_import_pace_waits_less_the_time_already_spent_and_slows_down_after_an_early_poll() -> None:
    pace = ImportPace(10_000)
    assert pace.wait(50_000, elapsed=0.0) == pytest.approx(5.2)
    assert pace.wait(50_000, elapsed=4.0) == pytest.approx(1.2)
    assert pace.wait(50_000, elapsed=9.0) == 0.0  # planning the next page took longer: poll at once
    pace.learn(50_000, done_after=5.25, polled_after=5.2)  # done at the first poll: estimate kept
    assert pace.rows_per_second == 10_000
    pace.learn(50_000, done_after=6.2, polled_after=5.2)  # polled again: Brevo was slower
    assert pace.rows_per_second == pytest.approx(50_000 / 6.0)
    assert pace.wait(50_000, elapsed=0.0) >= 6.0
