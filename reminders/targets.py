"""Who still owes the answer of each open wait: one reminder target per party that owes.

The stage of the wait decides (``Stage.owes_many``, asked once per stage kind for every open
wait at once): the region until it has answered (for a confirmation: for its current session
date), each assessor who has not answered or scored, the admin for the admin's own stages.
When nobody is left to remind (e.g. every assessor declined), the wait goes to the admin, who
has to act. The words of the reminder ("pengembalian Jawaban Kuesioner") come from the stage
too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from sqlmodel import Session

from reminders.decide import WaitView
from services.waits import Party, stage


def expand_targets(session: Session, waits: list[WaitView]) -> list[WaitView]:
    """One WaitView per party still owing the answer, worded by the wait's stage."""
    by_kind: dict[str, list[WaitView]] = defaultdict(list)
    for wait in waits:
        by_kind[wait.kind].append(wait)
    owing: dict[tuple[str, int, str], list[Party]] = {}
    for kind, group in by_kind.items():
        places = {(w.cycle_id, w.region_code) for w in group}
        for place, parties in stage(kind).owes_many(session, places).items():
            owing[(kind, *place)] = parties

    result: list[WaitView] = []
    for wait in waits:
        st = stage(wait.kind)
        parties = owing.get((wait.kind, wait.cycle_id, wait.region_code), [])
        for party in parties:
            result.append(
                replace(
                    wait,
                    party=party.role,
                    description=st.request_for(party),
                    assessor_id=party.assessor_id,
                    assessor_name=party.name,
                    assessor_email=party.email,
                    # An assessor's reminders carry the assessor in their key: the wait is the
                    # region's, shared by all of its assessors.
                    per_assessor=party.role == "asesor",
                )
            )
        if not parties:
            result.append(
                replace(
                    wait,
                    party="admin",
                    description=f"{st.title.lower()} (tidak ada pihak yang masih ditunggu; "
                    "mohon ditindaklanjuti)",
                )
            )
    return result
