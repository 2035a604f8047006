"""Helpers that turn a cycle's records into the Laporan's input (timeline, findings).

They take plain objects or dicts (StepRecord rows work as they are), so the flows can feed the
audit trail straight in; nothing here touches the database or the assessment package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from letters.inputs import IndicatorSummary, Recommendation, RegionResult, TimelineItem
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
    first: dict[int, date] = {}
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
                first[step_no] = min(first.get(step_no, finished), finished)
            parties[step_no].add(
                _get(record, "region_code") or _get(record, "assessor_id") or "siklus"
            )
    return [
        TimelineItem(
            step_no=s.number,
            activity=s.activity,
            actor=s.actor,
            due_date=due.get(s.number),
            started_on=first.get(s.number),
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


# How many recommendations a region gets, and how many indicators the province summary names.
RECOMMENDATIONS_PER_REGION = 3
WEAKEST_INDICATORS = 5


def _level_names(instrument: Any) -> dict[int, tuple[str, str]]:
    return {lv.level: (lv.name, lv.description) for lv in instrument.levels}


def recommendations_for(
    instrument: Any,
    final_levels: Mapping[str, int],
    self_levels: Mapping[str, int] | None = None,
    count: int = RECOMMENDATIONS_PER_REGION,
) -> list[Recommendation]:
    """The region's own recommendations: the indicators that weigh most in its index and are
    furthest below the top of the scale (lowest level first, heavier weight first), each with
    the next level to reach and its description. Priority: *tinggi* for the two lowest levels,
    *sedang* below the middle of the scale, *rendah* above it."""
    names = _level_names(instrument)
    top = instrument.scale.max
    candidates = [
        ind
        for ind in instrument.indicators
        if ind.code in final_levels and final_levels[ind.code] < top
    ]
    candidates.sort(key=lambda i: (final_levels[i.code], -i.weight, i.code))
    middle = (instrument.scale.min + top) / 2
    out = []
    for ind in candidates[:count]:
        level = final_levels[ind.code]
        target = level + 1
        if level <= instrument.scale.min + 1:
            priority = "tinggi"
        elif level < middle:
            priority = "sedang"
        else:
            priority = "rendah"
        own = (self_levels or {}).get(ind.code)
        out.append(
            Recommendation(
                indicator=f"{ind.code} {ind.name}",
                level=level,
                level_name=names.get(level, ("", ""))[0],
                target=target,
                target_name=names.get(target, ("", ""))[0],
                target_description=names.get(target, ("", ""))[1],
                priority=priority,
                self_level=own if own is not None and own > level else None,
            )
        )
    return out


def overrated_indicators(
    instrument: Any, final_levels: Mapping[str, int], self_levels: Mapping[str, int] | None
) -> list[str]:
    """Indicators the region rated above the verified level, most overrated first."""
    if not self_levels:
        return []
    gaps = [
        (self_levels[i.code] - final_levels[i.code], i.code, i.name)
        for i in instrument.indicators
        if i.code in self_levels and i.code in final_levels
    ]
    return [
        f"{code} {name}" for gap, code, name in sorted(gaps, key=lambda g: (-g[0], g[1])) if gap > 0
    ]


def weakest_indicators(
    instrument: Any, finals: Mapping[str, Mapping[str, int]], count: int = WEAKEST_INDICATORS
) -> list[IndicatorSummary]:
    """The indicators with the lowest mean final level across the regions (ties by code)."""
    if not finals:
        return []
    low_levels = {instrument.scale.min, instrument.scale.min + 1}
    rows = []
    for ind in instrument.indicators:
        levels = [lv[ind.code] for lv in finals.values() if ind.code in lv]
        if not levels:
            continue
        rows.append(
            IndicatorSummary(
                indicator=f"{ind.code} {ind.name}",
                dimension=instrument.dimension_of(ind.code).name,
                mean=sum(levels) / len(levels),
                low=sum(1 for v in levels if v in low_levels),
                regions=len(levels),
            )
        )
    rows.sort(key=lambda r: (r.mean, -r.low, r.indicator))
    return rows[:count]
