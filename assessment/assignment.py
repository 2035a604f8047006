"""Assigning assessors to regions: even load, deterministic, no conflict of interest.

An assessor whose home region is the assessed region is never assigned to it. Among the
eligible assessors the one with the lowest load (existing + assigned so far) is taken, ties
broken by id, so the same input always gives the same assignment.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class AssessorLike(Protocol):
    id: int | None
    home_region_code: str | None


class AssignmentError(ValueError):
    """No valid assignment exists; the message names the region and the shortfall."""


def conflict_of_interest(assessor: AssessorLike, region_code: str) -> bool:
    """An assessor may not assess their own home region (the one rule, used everywhere)."""
    return assessor.home_region_code == region_code


def _eligible(pool: Iterable[AssessorLike], region_code: str) -> list[AssessorLike]:
    return [
        a
        for a in pool
        if a.id is not None
        and not conflict_of_interest(a, region_code)
        and getattr(a, "active", True) is not False
    ]


def assign_assessors(
    pool: list[AssessorLike],
    region_codes: list[str],
    per_region: int = 2,
    existing_load: dict[int, int] | None = None,
) -> dict[str, list[int]]:
    """``{region_code: [assessor_id, ...]}`` with ``per_region`` distinct assessors each.

    Raises :class:`AssignmentError` listing every region that cannot get enough assessors
    without a conflict of interest.
    """
    if per_region < 1:
        raise AssignmentError("jumlah asesor per wilayah minimal 1")
    problems = []
    for code in region_codes:
        n = len(_eligible(pool, code))
        if n < per_region:
            problems.append(
                f"wilayah {code}: hanya {n} asesor tanpa konflik kepentingan, "
                f"dibutuhkan {per_region}"
            )
    if problems:
        raise AssignmentError("Penugasan asesor tidak mungkin: " + "; ".join(problems))
    load: dict[int, int] = {a.id: 0 for a in pool if a.id is not None}
    for aid, n in (existing_load or {}).items():
        load[aid] = load.get(aid, 0) + n
    result: dict[str, list[int]] = {}
    # Regions with the fewest eligible assessors choose first, so scarce assessors are not
    # used up elsewhere before they are needed; the output keeps the caller's order.
    order = sorted(region_codes, key=lambda c: (len(_eligible(pool, c)), region_codes.index(c)))
    for code in order:
        chosen: list[int] = []
        candidates = _eligible(pool, code)
        for _ in range(per_region):
            best = min(
                (a for a in candidates if a.id not in chosen),
                key=lambda a: (load[a.id], a.id),
            )
            chosen.append(best.id)
            load[best.id] += 1
        result[code] = chosen
    return {code: result[code] for code in region_codes}


def pick_replacement(
    pool: list[AssessorLike],
    region_code: str,
    exclude_ids: Iterable[int],
    load: dict[int, int] | None = None,
) -> int:
    """The least-loaded eligible assessor not in ``exclude_ids`` (e.g. the one who declined)."""
    excluded = set(exclude_ids)
    load = load or {}
    candidates = [a for a in _eligible(pool, region_code) if a.id not in excluded]
    if not candidates:
        raise AssignmentError(
            f"Tidak ada asesor pengganti untuk wilayah {region_code} (semua asesor lain sudah "
            "ditugaskan, menolak, atau berasal dari wilayah tersebut)"
        )
    return min(candidates, key=lambda a: (load.get(a.id, 0), a.id)).id
