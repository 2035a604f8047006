"""Which cycle, region and person a reply belongs to, and whether its sender may act on it.

A reply is matched, in this order, by its In-Reply-To and References headers to the Message-ID
of a message we sent (``Dispatch.message_id``), then by the reference token in its subject
(``[PEMANTIK-2026-64.72]`` for a region, ``[PEMANTIK-2026-A7]`` for assessor 7). Its sender
must then be the region's registered PIC (``Region.pic_email``) or an assessor assigned to
that region in that cycle (an ``Assignment`` row); anyone else is a stranger, and the message
is quarantined.

A filled Lembar Kuesioner names its own cycle and region (its checked metadata):
:func:`match_workbook` lets that decide, whatever thread the reply came in. Automatic replies
go out in the :func:`current_cycle` (its reference token), not in an earlier cycle's thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, select

from mail.outbox import find_by_message_id
from models.lookups import assessor_by_email, open_waits
from models.tables import Assessor, Assignment, Cycle, CycleState, Dispatch, Region

TOKEN = re.compile(r"\[PEMANTIK-(\d{4})-([A-Za-z0-9.]+)\]", re.I)


@dataclass
class Match:
    cycle_id: int | None = None
    year: int | None = None
    region_code: str | None = None
    assessor_id: int | None = None  # the sender, when the sender is an assessor
    party: str = ""  # "wilayah" / "asesor" / "" (not authorised)
    dispatch: Dispatch | None = None  # the message replied to, when known
    how: str = ""  # in-reply-to / references / subjek
    problem: str = ""  # why the message was not matched or not authorised (Indonesian)
    addressee: str = ""  # whom the thread was addressed to (the PIC or the assessor)

    @property
    def referenced(self) -> bool:
        return self.cycle_id is not None

    @property
    def authorised(self) -> bool:
        return bool(self.party) and self.region_code is not None


def _by_headers(session: Session, ids: list[str]) -> tuple[Dispatch | None, str]:
    for number, mid in enumerate(ids):
        row = find_by_message_id(session, mid)
        if row is not None and row.cycle_id is not None:
            return row, "in-reply-to" if number == 0 else "references"
    return None, ""


def _assigned_regions(session: Session, cycle_id: int, assessor_id: int) -> list[str]:
    return sorted(
        set(
            session.exec(
                select(Assignment.region_code).where(
                    Assignment.cycle_id == cycle_id, Assignment.assessor_id == assessor_id
                )
            )
        )
    )


def _is_assigned(session: Session, cycle_id: int, region: str, assessor_id: int) -> bool:
    return (
        session.exec(
            select(Assignment.id).where(
                Assignment.cycle_id == cycle_id,
                Assignment.region_code == region,
                Assignment.assessor_id == assessor_id,
            )
        ).first()
        is not None
    )


def match_message(session: Session, sender: str, subject: str, thread_ids: list[str]) -> Match:
    """Find the cycle/region of a reply and check its sender (see the module docstring)."""
    out = Match()
    dispatch, how = _by_headers(session, thread_ids)
    token_party: str | None = None
    if dispatch is not None:
        out.dispatch, out.how = dispatch, how
        out.cycle_id = dispatch.cycle_id
        out.region_code = dispatch.region_code
        cycle = session.get(Cycle, dispatch.cycle_id)
        out.year = cycle.year if cycle else None
        if out.region_code is None and dispatch.assessor_id is not None:
            token_party = f"A{dispatch.assessor_id}"
        if dispatch.assessor_id is not None:
            out.addressee = dispatch.recipient
        elif (addressed_region := session.get(Region, out.region_code or "")) is not None:
            out.addressee = addressed_region.pic_email
    else:
        found = TOKEN.search(subject or "")
        if found is None:
            out.problem = "tidak membalas surel PeManTIK dan subjek tidak memuat kode rujukan"
            return out
        out.how = "subjek"
        out.year = int(found.group(1))
        cycle = session.exec(
            select(Cycle).where(Cycle.year == out.year).order_by(Cycle.id.desc())
        ).first()
        if cycle is None:
            out.problem = f"kode rujukan {found.group(0)}: siklus tahun {out.year} tidak ada"
            return out
        out.cycle_id = cycle.id
        party = found.group(2)
        if re.fullmatch(r"[Aa]\d+", party):
            token_party = party.upper()
            addressed = session.get(Assessor, int(party[1:]))
            out.addressee = addressed.email if addressed is not None else ""
        elif (addressed_region := session.get(Region, party)) is not None:
            out.region_code = party
            out.addressee = addressed_region.pic_email
        else:
            out.problem = f"kode rujukan {found.group(0)}: wilayah {party} tidak dikenal"
            return out

    sender = (sender or "").strip().lower()
    if not sender:
        out.problem = "alamat pengirim tidak ada"
        return out
    assessor = assessor_by_email(session, sender)
    if token_party is not None:
        # A message addressed to one assessor only: the sender must be that assessor.
        wanted = int(token_party[1:])
        if assessor is None or assessor.id != wanted:
            wanted_row = session.get(Assessor, wanted)
            out.problem = f"pengirim {sender} bukan asesor yang dituju" + (
                f" ({wanted_row.name})" if wanted_row is not None else ""
            )
            return out
        regions = _assigned_regions(session, out.cycle_id, assessor.id)
        if len(regions) != 1:
            out.problem = (
                f"asesor {sender} ditugaskan pada {len(regions)} wilayah; "
                "wilayah tidak dapat ditentukan dari kode rujukan asesor"
            )
            return out
        out.region_code = regions[0]
        out.assessor_id, out.party = assessor.id, "asesor"
        return out

    region = session.get(Region, out.region_code)
    # Official letters go to the head of the region's Diskominfo with the officer in Cc:
    # either may answer in the thread.
    if region is not None and sender in {
        region.pic_email.strip().lower(),
        (region.head_email or "").strip().lower(),
    } - {""}:
        out.party = "wilayah"
        return out
    if assessor is not None and _is_assigned(session, out.cycle_id, out.region_code, assessor.id):
        out.assessor_id, out.party = assessor.id, "asesor"
        return out
    out.problem = (
        f"pengirim {sender} bukan petugas penghubung terdaftar wilayah {out.region_code} "
        "dan bukan asesor yang ditugaskan pada wilayah itu"
    )
    return out


def current_cycle(session: Session) -> Cycle | None:
    """The cycle under way (running or closing, the newest), else the newest cycle."""
    cycles = session.exec(select(Cycle).order_by(Cycle.year.desc(), Cycle.id.desc())).all()
    live = [c for c in cycles if c.state in (CycleState.RUNNING, CycleState.CLOSING)]
    return (live or cycles or [None])[0]


def waits_for(session: Session, cycle_id: int, region: str, kind: str) -> bool:
    return bool(open_waits(session, cycle_id, region, kind=kind))


def match_workbook(
    session: Session, sender: str, cycle_id: int, region_code: str, thread: Match
) -> Match | None:
    """The region's PIC sent its own Lembar Kuesioner: match it to the cycle that waits for it.

    The workbook's own cycle when that cycle waits for answers; else the cycle under way when
    that one waits (the validator then says the workbook is an earlier year's); else None (the
    thread decides). The sender must be the registered PIC of the workbook's region.
    """
    region = session.get(Region, region_code)
    if region is None or region.pic_email.strip().lower() != (sender or "").strip().lower():
        return None
    target = None
    if waits_for(session, cycle_id, region_code, "jawaban"):
        target = session.get(Cycle, cycle_id)
    else:
        now = current_cycle(session)
        if now is not None and waits_for(session, now.id, region_code, "jawaban"):
            target = now
    if target is None or (target.id == thread.cycle_id and region_code == thread.region_code):
        return None
    return Match(
        cycle_id=target.id,
        year=target.year,
        region_code=region_code,
        party="wilayah",
        dispatch=thread.dispatch if thread.cycle_id == target.id else None,
        how="lembar kuesioner",
    )


def match_region(session: Session, sender: str, region_code: str, cycle_id: int | None) -> Match:
    """A released message without a thread: the admin named the region (and the cycle)."""
    cycle = session.get(Cycle, cycle_id) if cycle_id is not None else current_cycle(session)
    out = Match(region_code=region_code, how="dilepas admin")
    if cycle is None:
        out.problem = "tidak ada siklus PeManTIK"
        return out
    out.cycle_id, out.year = cycle.id, cycle.year
    region = session.get(Region, region_code)
    if region is not None and region.pic_email.strip().lower() == sender.strip().lower():
        out.party = "wilayah"
    else:
        out.problem = f"{sender} bukan petugas penghubung terdaftar wilayah {region_code}"
    return out
