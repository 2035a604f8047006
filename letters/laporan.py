"""Helpers that turn a cycle's records into the Laporan's input (timeline, findings).

They take plain objects or dicts (StepRecord rows work as they are), so the flows can feed the
audit trail straight in; nothing here touches the database or the assessment package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from letters.inputs import RegionResult, TimelineItem
from models import clock
from models.sop import SopStep, sop_steps


def _get(record: Any, name: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def timeline_from_records(
    records: Iterable[Any],
    *,
    total: int,
    steps: Iterable[SopStep] | None = None,
    done_events: frozenset[str] = frozenset({"done"}),
) -> list[TimelineItem]:
    """One TimelineItem per SOP step from step records.

    For each step: the latest due date, the latest completion (WITA date) among ``done`` events,
    and how many distinct parties (region, or assessor for assessor steps) completed it out of
    ``total`` (the number of regions in the cycle).
    """
    steps = list(steps or sop_steps())
    due: dict[int, date] = {}
    completed: dict[int, date] = {}
    parties: dict[int, set] = {s.number: set() for s in steps}
    for record in records:
        step_no = _get(record, "step_no")
        if step_no not in parties:
            continue
        record_due = _get(record, "due_date")
        if record_due is not None:
            due[step_no] = max(due.get(step_no, record_due), record_due)
        if (_get(record, "event") or "done") in done_events:
            finished = clock.local_date(_get(record, "completed_at") or _get(record, "recorded_at"))
            if finished is not None:
                completed[step_no] = max(completed.get(step_no, finished), finished)
            parties[step_no].add(
                _get(record, "region_code") or _get(record, "assessor_id") or "siklus"
            )
    return [
        TimelineItem(
            step_no=s.number,
            activity=s.activity,
            actor=s.actor,
            due_date=due.get(s.number),
            completed_on=completed.get(s.number),
            done=min(len(parties[s.number]), total) if total else len(parties[s.number]),
            total=total,
        )
        for s in steps
    ]


def weakest_dimensions(result: RegionResult, dimensions: list[str] | None = None) -> list[str]:
    """The dimension(s) with the lowest score of one region (ties all returned)."""
    names = dimensions or list(result.dimensions)
    scored = [(d, result.dimensions[d]) for d in names if d in result.dimensions]
    if not scored:
        return []
    low = min(score for _, score in scored)
    return [d for d, score in scored if score == low]
