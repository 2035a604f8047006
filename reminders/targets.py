"""Who still owes the answer of a wait: one reminder target per party that has not answered.

A flow may open one Wait for several people: a region's confirmation step waits on the region
*and* its assessors (party ``"wilayah, asesor"``), the scores step on every accepted assessor
(party ``"asesor"`` without an ``assessor_id``). Reminders go only to those who still owe
something, read in bulk from the assessment tables:

* ``wilayah`` — the PIC; for a confirmation, only while the region has not confirmed;
* ``asesor`` — for a willingness confirmation (konfirmasi/kesediaan), each assessor whose request
  is unanswered; for scores (nilai), each accepted assessor without a score; otherwise each
  accepted assessor;
* ``admin`` — the admin.
When nobody is left to remind (e.g. every assessor declined), the wait goes to the admin, who
has to act.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from sqlalchemy import select as sa_select
from sqlmodel import Session

from models.tables import Assessor, Assignment, AssignmentState, Confirmation, Score
from reminders.decide import WaitView

CONFIRMATION_KINDS = {"konfirmasi", "kesediaan"}


def parties(value: str) -> list[str]:
    """'wilayah, asesor' -> ['wilayah', 'asesor']."""
    return [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]


def _needs_lookup(wait: WaitView) -> bool:
    names = parties(wait.party)
    return len(names) > 1 or ("asesor" in names and wait.assessor_id is None)


def expand_targets(session: Session, waits: list[WaitView]) -> list[WaitView]:
    """One WaitView per party still owing the answer (waits already naming one party stay)."""
    pending = [w for w in waits if _needs_lookup(w)]
    if not pending:
        return waits
    cycles = sorted({w.cycle_id for w in pending})
    a, s, c, p = (t.__table__.c for t in (Assignment, Score, Confirmation, Assessor))
    assignments: dict[tuple[int, str], list[tuple[int, str, str, str]]] = defaultdict(list)
    for row in session.execute(
        sa_select(a.cycle_id, a.region_code, a.assessor_id, a.state, p.name, p.email)
        .join(Assessor.__table__, p.id == a.assessor_id)
        .where(a.cycle_id.in_(cycles))
        .order_by(a.assessor_id)
    ):
        assignments[(row[0], row[1])].append((row[2], row[3], row[4], row[5]))
    scored = {
        tuple(row)
        for row in session.execute(
            sa_select(s.cycle_id, s.region_code, s.assessor_id)
            .where(s.cycle_id.in_(cycles))
            .distinct()
        )
    }
    confirmed = {
        tuple(row)
        for row in session.execute(
            sa_select(c.cycle_id, c.region_code).where(c.cycle_id.in_(cycles)).distinct()
        )
    }

    result: list[WaitView] = []
    for wait in waits:
        if not _needs_lookup(wait):
            result.append(wait)
            continue
        place = (wait.cycle_id, wait.region_code)
        targets: list[WaitView] = []
        for party in parties(wait.party):
            if party == "wilayah":
                if wait.kind in CONFIRMATION_KINDS and place in confirmed:
                    continue
                targets.append(replace(wait, party="wilayah"))
            elif party == "asesor" and wait.assessor_id is not None:
                targets.append(replace(wait, party="asesor"))
            elif party == "asesor":
                for assessor_id, state, name, email in assignments.get(place, []):
                    if wait.kind in CONFIRMATION_KINDS:
                        owes = state == AssignmentState.REQUESTED
                    elif wait.kind == "nilai":
                        owes = (
                            state == AssignmentState.ACCEPTED
                            and (*place, assessor_id) not in scored
                        )
                    else:
                        owes = state == AssignmentState.ACCEPTED
                    if owes:
                        targets.append(
                            replace(
                                wait,
                                party="asesor",
                                assessor_id=assessor_id,
                                assessor_name=name,
                                assessor_email=email,
                                per_assessor=True,
                            )  # fmt: skip
                        )
            else:
                targets.append(replace(wait, party=party))
        if not targets:
            description = wait.description or wait.kind
            targets.append(
                replace(
                    wait,
                    party="admin",
                    description=f"{description} (tidak ada pihak yang masih ditunggu; mohon ditindaklanjuti)",
                )
            )
        result.extend(targets)
    return result
