"""The invitation phase (SOP steps 6–9): the Surat Undangan to the region and the Surat
Permohonan to its assessors, the wait for their confirmations, and settling them (a declining
assessor is replaced from the pool, a declining region is rescheduled).

The reply-by date of both letters and the due date of the confirmation wait are one rule,
:func:`confirmation_due`; the event block (date, time, venue, agenda) is one dict,
:func:`event_data`, rendered by the letters and their emails alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from models import clock
from models.db import session_scope
from models.lookups import assessors_of
from models.tables import (
    Assessor,
    Assignment,
    AssignmentState,
    Confirmation,
    Letter,
    RegionProcess,
)
from services.context import (
    CycleContext,
    addressee_of,
    contact_line,
    get_assessor_by_email,
    get_region,
    letter_recipients,
    load_cycle,
    region_data,
    signatory,
)
from services.outgoing import issue_and_mail, queue_then_deliver
from services.stage import InputRefused, Party, Place, Stage, group_by_cycle, yes_no

TEMPLATES = "invitation"  # mail/templates/invitation/, letters/templates/invitation/
INVITATION_KINDS = ("undangan", "permohonan")


def confirmation_due(ctx: CycleContext, sent_on: date) -> date:
    """Steps 7–8 follow the letters: receive them, then confirm — in working days."""
    return ctx.working_days_after(sent_on, 7, 8)


def event_data(ctx: CycleContext, event_date: date) -> dict[str, Any]:
    """The event block of the Undangan and the Permohonan (and of their emails)."""
    return {
        "event_date": event_date,
        "time_start": ctx.params.session_time,
        "venue": ctx.params.venue,
        "online_link": ctx.params.online_link,
        "agenda": ctx.params.agenda,
    }


def _last_invitation_date(session: Session, cycle_id: int, region_code: str) -> date | None:
    return session.exec(
        select(Letter.letter_date)
        .where(
            Letter.cycle_id == cycle_id,
            Letter.region_code == region_code,
            Letter.kind.in_(INVITATION_KINDS),
        )
        .order_by(Letter.letter_date.desc(), Letter.id.desc())
    ).first()


# --- step 6 ---------------------------------------------------------------------------------


def send_invitation(cycle_id: int, region_code: str, round_no: int) -> dict[str, Any]:
    """Step 6 (region): the Surat Undangan for the region's session date, round ``round_no``."""

    def build(session: Session, out) -> dict[str, Any]:  # noqa: ANN001
        ctx = load_cycle(session, cycle_id)
        region = get_region(session, region_code)
        when = ctx.session_date_for(session, region.code)
        sent_on = clock.today()
        data = {
            **region_data(ctx, region),
            **event_data(ctx, when),
            "addressee": addressee_of(region),
            "reply_by": confirmation_due(ctx, sent_on),
            "contact": contact_line(),
            "signatory": signatory(),
        }
        letter = issue_and_mail(
            session,
            out,
            kind="undangan",
            step_no=6,
            data=data,
            key=f"c{ctx.id}/{region.code}/undangan/{round_no}",
            **letter_recipients(region),
            template=f"{TEMPLATES}/undangan",
            cycle_id=ctx.id,
            region_code=region.code,
            letter_date=sent_on,
        )
        return {"letter_id": letter.id, "number": letter.number, "session_date": when.isoformat()}

    result, receipts = queue_then_deliver(build)
    return {**result, "receipts": receipts}


def send_requests(cycle_id: int, region_code: str) -> dict[str, Any]:
    """Step 6 (assessors): one Surat Permohonan per assessor, listing every region the assessor
    is asked to assess and not yet written to — so the first region to reach step 6 writes
    to its assessors about all their regions, and a later region sends only what is new (a
    replacement). Each letter says what the assessor receives, when the scores are due and how
    to send them, with a scoring template per region attached."""

    def build(session: Session, out) -> list[dict[str, Any]]:  # noqa: ANN001
        ctx = load_cycle(session, cycle_id)
        get_region(session, region_code)
        sent_on = clock.today()
        issued = []
        asked = session.exec(
            select(Assignment.assessor_id).where(
                Assignment.cycle_id == ctx.id,
                Assignment.region_code == region_code,
                Assignment.state == AssignmentState.REQUESTED,
                Assignment.letter_id.is_(None),
            )
        ).all()
        # Two regions can reach this step at once and both find the same assessor not yet
        # written to. Their rows are locked first, all of them and in one order (a letter's
        # number takes the register's lock, so locking one by one between letters deadlocks),
        # and the assignments are read again under the lock: one letter covers them, and the
        # other region finds nothing left to send.
        locked = session.exec(
            select(Assessor)
            .where(Assessor.id.in_(sorted(set(asked))))
            .order_by(Assessor.id)
            .with_for_update()
        ).all()
        for assessor in locked:
            assessor_id = assessor.id
            rows = session.exec(
                select(Assignment)
                .where(
                    Assignment.cycle_id == ctx.id,
                    Assignment.assessor_id == assessor_id,
                    Assignment.state == AssignmentState.REQUESTED,
                    Assignment.letter_id.is_(None),
                )
                .order_by(Assignment.region_code)
            ).all()
            if not rows:
                continue
            data = request_data(session, ctx, assessor, [r.region_code for r in rows], sent_on)
            templates = scoring_templates(ctx, [r.region_code for r in rows])
            letter = issue_and_mail(
                session,
                out,
                kind="permohonan",
                step_no=6,
                data=data,
                # The assignments the letter covers make it one letter, whatever retries.
                key=f"c{ctx.id}/permohonan/a{assessor.id}/" + "-".join(str(r.id) for r in rows),
                recipient=assessor.email,
                recipient_name=assessor.name,
                template=f"{TEMPLATES}/permohonan",
                cycle_id=ctx.id,
                assessor_id=assessor.id,
                extra_attachments=templates,
                letter_date=sent_on,
            )
            for row in rows:
                row.letter_id = letter.id
                session.add(row)
            issued.append(
                {
                    "assessor": assessor.email,
                    "number": letter.number,
                    "letter_id": letter.id,
                    "regions": [r.region_code for r in rows],
                }
            )
        return issued

    result, receipts = queue_then_deliver(build)
    return {"letters": result, "receipts": receipts}


def request_data(
    session: Session, ctx: CycleContext, assessor: Assessor, region_codes: list[str], sent_on: date
) -> dict[str, Any]:
    """The Permohonan's data (letter and email alike): the assessor's regions with their
    session dates and score due dates (the scoring stage's own ``due``), what the assessor
    receives, and the reply-by date."""
    from services.waits import stage

    scores = stage("nilai")
    regions = []
    for code in region_codes:
        region = get_region(session, code)
        regions.append(
            {
                "code": code,
                "name": region.name,
                "session_date": ctx.session_date_for(session, code),
                "scores_due": scores.due(session, ctx, code),
                "template": scoring_template_name(ctx, code),
            }
        )
    first = min(r["session_date"] for r in regions)
    from letters.formats import number_in_words

    return {
        "lampiran": f"{len(regions)} ({number_in_words(len(regions))}) berkas templat nilai",
        **event_data(ctx, first),
        "year": ctx.params.year,
        "addressee": {"name": assessor.name},
        "assessor_name": assessor.name,
        "institution": assessor.institution,
        "regions": [r["name"] for r in regions],
        "assignments": regions,
        "scores_due": max(r["scores_due"] for r in regions),
        "reply_by": confirmation_due(ctx, sent_on),
        "signatory": signatory(),
    }


def scoring_template_name(ctx: CycleContext, region_code: str) -> str:
    """The scoring template's file name: the region code in it tells the inbox which region a
    returned file is for."""
    return f"Nilai-PeManTIK-{ctx.params.year}-{region_code}.csv"


def scoring_templates(ctx: CycleContext, region_codes: list[str]) -> list[Path]:
    """One scoring template (CSV: kode, indikator, tingkat, catatan) per region, written once
    under the documents folder; the assessor fills ``tingkat`` (and ``catatan``) and replies
    with it, as the mailbox reader and ``pemantik nilai`` read it."""
    import csv
    import io

    from assessment.instruments import load_instrument
    from models.settings import get_settings

    instrument = load_instrument(ctx.cycle.instrument_code)
    folder = get_settings().docs_dir / str(ctx.params.year) / "templat-nilai"
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["kode", "indikator", "tingkat", "catatan"])
    for ind in instrument.indicators:
        writer.writerow([ind.code, ind.name, "", ""])
    body = ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8
    paths = []
    for code in region_codes:
        path = folder / scoring_template_name(ctx, code)
        if not path.exists() or path.read_bytes() != body:
            path.write_bytes(body)
        paths.append(path)
    return paths


def send_letters(cycle_id: int, region_code: str, round_no: int, region_too: bool) -> dict:
    """Step 6 as the flow runs it: the Undangan (unless only assessors changed) and every
    Permohonan not yet sent."""
    result: dict[str, Any] = {"round": round_no}
    if region_too:
        result["undangan"] = send_invitation(cycle_id, region_code, round_no)
    result["permohonan"] = send_requests(cycle_id, region_code)
    numbers = [result["undangan"]["number"]] if region_too else []
    numbers += [p["number"] for p in result["permohonan"]["letters"]]
    result["outcome"] = (
        "surat terkirim: " + ", ".join(numbers) if numbers else "tidak ada surat baru"
    )
    return result


def receipts_complete_delivery(cycle_id: int, region_code: str, sent: dict) -> dict[str, Any]:
    """Step 7: the delivery receipts complete it (acknowledgements are recorded when they
    come, without blocking)."""
    receipts = sent.get("undangan", {}).get("receipts", []) + sent["permohonan"]["receipts"]
    delivered = [r for r in receipts if r["state"] == "sent"]
    return {"outcome": f"{len(delivered)} dari {len(receipts)} surat elektronik terkirim"}


# --- step 8: the confirmations --------------------------------------------------------------


class Confirmations(Stage):
    kind = "konfirmasi"
    step_no = 8
    done_steps = (8,)
    roles = ("wilayah", "asesor")
    title = "Konfirmasi kehadiran dan kesediaan"

    def request_for(self, party: Party) -> str:
        if party.role == "asesor":
            return "konfirmasi kesediaan sebagai asesor"
        return "konfirmasi kehadiran pada pelaksanaan penilaian"

    def missing_text(self, party: Party) -> str:
        if party.role == "asesor":
            return f"konfirmasi kesediaan asesor {party.name} ({party.email})"
        return "konfirmasi kehadiran Kab/Kota"

    def accept(
        self, session: Session, ctx: CycleContext, region: str, payload: dict, via: str, who: str
    ) -> str:
        party = str(payload.get("pihak") or "").strip().lower()
        answer = payload.get("jawaban")
        if not party and answer in (None, ""):
            return ""
        if not party:
            raise InputRefused(["Pihak wajib diisi: 'wilayah' atau alamat surel asesor"])
        if party in ("wilayah", region):
            return self._region(session, ctx, region, payload, answer)
        return self._assessor(session, ctx, region, payload, party, answer)

    def _region(
        self, session: Session, ctx: CycleContext, region: str, payload: dict, answer: Any
    ) -> str:
        attend = yes_no(answer, "Konfirmasi kehadiran")
        delegates = []
        for i, d in enumerate(payload.get("delegasi") or [], start=1):
            if not str(d.get("nama", "")).strip():
                raise InputRefused([f"Delegasi ke-{i}: nama wajib diisi"])
            delegates.append(
                {"nama": d["nama"].strip(), "jabatan": str(d.get("jabatan", "")).strip()}
            )
        if attend and not delegates:
            raise InputRefused(
                ["Konfirmasi hadir: sebutkan minimal satu delegasi (nama dan jabatan)"]
            )
        session.add(
            Confirmation(
                cycle_id=ctx.id,
                region_code=region,
                attend=attend,
                delegates=delegates,
                note=str(payload.get("alasan", "")),
                session_date=ctx.session_date_for(session, region),
            )
        )
        return "Kab/Kota " + ("hadir" if attend else "tidak dapat hadir")

    def _assessor(
        self,
        session: Session,
        ctx: CycleContext,
        region: str,
        payload: dict,
        email: str,
        answer: Any,
    ) -> str:
        try:
            assessor = get_assessor_by_email(session, email)
        except LookupError as exc:
            raise InputRefused([str(exc)]) from None
        # One answer per assessor: it settles every region the assessor is still asked about
        # (one Surat Permohonan lists them all); the other regions' stages are then complete
        # and their waits are resumed by the door or the stage sweep.
        rows = session.exec(
            select(Assignment)
            .where(
                Assignment.cycle_id == ctx.id,
                Assignment.assessor_id == assessor.id,
                Assignment.state == AssignmentState.REQUESTED,
            )
            .order_by(Assignment.region_code)
        ).all()
        if not any(r.region_code == region for r in rows):
            raise InputRefused([f"Asesor {assessor.name} tidak sedang diminta menilai wilayah ini"])
        willing = yes_no(answer, "Konfirmasi kesediaan")
        statement = str(payload.get("pernyataan_benturan_kepentingan", "")).strip()
        if willing and not statement:
            raise InputRefused(
                ["Konfirmasi bersedia: pernyataan bebas benturan kepentingan wajib diisi"]
            )
        for row in rows:
            row.state = AssignmentState.ACCEPTED if willing else AssignmentState.DECLINED
            row.coi_statement = statement
            row.reason = str(payload.get("alasan", ""))
            row.responded_at = clock.now()
            session.add(row)
        others = len(rows) - 1
        return (
            f"asesor {assessor.name} "
            + ("bersedia" if willing else "tidak bersedia")
            + (f" (berlaku juga untuk {others} wilayah lain)" if others else "")
        )

    def owes_many(self, session: Session, places: Iterable[Place]) -> dict[Place, list[Party]]:
        places = list(places)
        result: dict[Place, list[Party]] = {p: [] for p in places}
        for cycle_id, regions in group_by_cycle(places).items():
            ctx = load_cycle(session, cycle_id)
            planned = ctx.planned_session_date()
            moved = {
                code: day
                for code, day in session.exec(
                    select(RegionProcess.region_code, RegionProcess.session_date).where(
                        RegionProcess.cycle_id == cycle_id,
                        RegionProcess.region_code.in_(regions),
                    )
                )
                if day is not None
            }
            # A confirmation counts only for the region's current session date: a region
            # that declined and was rescheduled owes a new one.
            confirmed = set(
                session.exec(
                    select(Confirmation.region_code, Confirmation.session_date).where(
                        Confirmation.cycle_id == cycle_id,
                        Confirmation.region_code.in_(regions),
                    )
                )
            )
            for code in regions:
                if (code, moved.get(code, planned)) not in confirmed:
                    result[(cycle_id, code)].append(Party("wilayah"))
            asked = assessors_of(session, cycle_id, regions, AssignmentState.REQUESTED)
            for code, assessor_id, name, email in asked:
                result[(cycle_id, code)].append(Party("asesor", assessor_id, name, email))
        return result

    def due(self, session: Session, ctx: CycleContext, region: str) -> date:
        sent_on = _last_invitation_date(session, ctx.id, region)
        return confirmation_due(ctx, sent_on or clock.today())


# --- step 9 ---------------------------------------------------------------------------------


def settle_confirmations(cycle_id: int, region_code: str, round_no: int) -> dict[str, Any]:
    """Step 9: replace declining assessors from the pool; reschedule a declining region.

    Returns what changed so the flow can send new letters and wait again.
    """
    from assessment.assignment import pick_replacement

    with session_scope() as session:
        ctx = load_cycle(session, cycle_id)
        replaced: list[dict[str, Any]] = []
        declined = session.exec(
            select(Assignment).where(
                Assignment.cycle_id == ctx.id,
                Assignment.region_code == region_code,
                Assignment.state == AssignmentState.DECLINED,
                Assignment.replaced_by_id.is_(None),
            )
        ).all()
        if declined:
            pool = assessor_pool(session, ctx)
            everyone = session.exec(
                select(Assignment).where(
                    Assignment.cycle_id == ctx.id, Assignment.region_code == region_code
                )
            ).all()
            exclude = {a.assessor_id for a in everyone}
            load = assessor_load(session, ctx.id)
            for row in declined:
                new_id = pick_replacement(pool, region_code, exclude, load)
                exclude.add(new_id)
                load[new_id] = load.get(new_id, 0) + 1
                new_row = Assignment(cycle_id=ctx.id, region_code=region_code, assessor_id=new_id)
                session.add(new_row)
                session.flush()
                row.replaced_by_id = new_row.id
                row.state = AssignmentState.REPLACED
                session.add(row)
                replaced.append({"declined": row.assessor_id, "replacement": new_id})
        rescheduled = None
        latest = session.exec(
            select(Confirmation)
            .where(Confirmation.cycle_id == ctx.id, Confirmation.region_code == region_code)
            .order_by(Confirmation.id.desc())
        ).first()
        process = session.exec(
            select(RegionProcess).where(
                RegionProcess.cycle_id == ctx.id, RegionProcess.region_code == region_code
            )
        ).one()
        if latest is not None and not latest.attend:
            current = ctx.session_date_for(session, region_code)
            new_date = ctx.reschedule(current)
            process.session_date = new_date
            session.add(process)
            rescheduled = new_date.isoformat()
    parts = []
    if replaced:
        parts.append(f"{len(replaced)} asesor diganti")
    if rescheduled:
        parts.append(f"dijadwalkan ulang ke {rescheduled}")
    return {
        "replaced": replaced,
        "rescheduled": rescheduled,
        "round": round_no,
        "outcome": "; ".join(parts) or "semua pihak terkonfirmasi",
    }


def assessor_pool(session: Session, ctx: CycleContext) -> list[Assessor]:
    """The active assessors the cycle may assign (its pool, or every active assessor)."""
    pool = list(session.exec(select(Assessor).where(Assessor.active == True)))  # noqa: E712
    if ctx.params.assessor_pool:
        wanted = {e.lower() for e in ctx.params.assessor_pool}
        pool = [a for a in pool if a.email in wanted]
    return pool


def assessor_load(session: Session, cycle_id: int) -> dict[int, int]:
    """How many regions each assessor is asked to assess (or has agreed to) in the cycle."""
    load: dict[int, int] = {}
    for row in session.exec(select(Assignment).where(Assignment.cycle_id == cycle_id)):
        if row.state in (AssignmentState.REQUESTED, AssignmentState.ACCEPTED):
            load[row.assessor_id] = load.get(row.assessor_id, 0) + 1
    return load


def assign_for_cycle(cycle_id: int, region_codes: list[str]) -> dict[str, list[int]]:
    """Assign assessors to every region of the cycle at once (spreads the load evenly)."""
    from assessment.assignment import assign_assessors

    with session_scope() as session:
        ctx = load_cycle(session, cycle_id)
        existing = session.exec(select(Assignment).where(Assignment.cycle_id == ctx.id)).all()
        done = {a.region_code for a in existing}
        todo = [c for c in region_codes if c not in done]
        plan = assign_assessors(
            assessor_pool(session, ctx),
            todo,
            ctx.params.assessors_per_region,
            assessor_load(session, ctx.id),
        )
        for code, ids in plan.items():
            for assessor_id in ids:
                session.add(Assignment(cycle_id=ctx.id, region_code=code, assessor_id=assessor_id))
        result: dict[str, list[int]] = {}
        for row in [*existing, *session.new]:
            if isinstance(row, Assignment):
                result.setdefault(row.region_code, []).append(row.assessor_id)
        return result


STAGES: tuple[Stage, ...] = (Confirmations(),)
