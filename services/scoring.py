"""The scoring phase (SOP steps 10–13): the attendance list of the session, the assessors'
scores (blind, in any order), the provisional result with the filled Formulir, the admin's
acceptance (which locks the result), and the result sent to the region.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlmodel import Session, delete, select

from letters.formats import decimal_comma
from models import clock
from models.audit import record_step
from models.db import session_scope
from models.lookups import active_assessor_ids, assessors_of
from models.tables import (
    Assessor,
    AssignmentState,
    Attendance,
    Document,
    ProcessState,
    Result,
    Score,
    StepRecord,
)
from services.context import (
    CycleContext,
    get_assessor_by_email,
    get_region,
    letter_recipients,
    load_cycle,
    region_data,
)
from services.outgoing import mail_only, queue_then_deliver
from services.progress import set_progress
from services.stage import (
    InputRefused,
    Party,
    Place,
    Stage,
    StageStatus,
    fetch_linked_file,
    group_by_cycle,
    levels_from_form,
    places_having,
)

TEMPLATES = "scoring"  # mail/templates/scoring/, letters/templates/scoring/


def _latest_event_day(
    session: Session, cycle_id: int, region: str, step_no: int, event: str
) -> date | None:
    moment = session.exec(
        select(StepRecord.recorded_at)
        .where(
            StepRecord.cycle_id == cycle_id,
            StepRecord.region_code == region,
            StepRecord.step_no == step_no,
            StepRecord.event == event,
        )
        .order_by(StepRecord.id.desc())
    ).first()
    return clock.local_date(moment) if moment is not None else None


def _instrument(ctx: CycleContext):  # noqa: ANN202 - an assessment Instrument
    from assessment.instruments import load_instrument

    return load_instrument(ctx.cycle.instrument_code)


# --- step 10: attendance --------------------------------------------------------------------


class AttendanceList(Stage):
    kind = "kehadiran"
    step_no = 10
    done_steps = (10,)
    roles = ("admin",)
    title = "Daftar hadir penilaian"

    def request_for(self, party: Party) -> str:
        return "daftar hadir pelaksanaan penilaian"

    def missing_text(self, party: Party) -> str:
        return "daftar hadir pelaksanaan penilaian (admin)"

    def accept(
        self, session: Session, ctx: CycleContext, region: str, payload: dict, via: str, who: str
    ) -> str:
        people = [p for p in payload.get("peserta") or [] if str(p.get("nama", "")).strip()]
        if not people:
            return ""
        raw = payload.get("tanggal") or ctx.session_date_for(session, region)
        try:
            day = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        except ValueError:
            raise InputRefused([f"Tanggal pelaksanaan '{raw}' tidak sah (TTTT-BB-HH)"]) from None
        session.add(
            Attendance(
                cycle_id=ctx.id,
                region_code=region,
                session_date=day,
                present=[{k: str(v) for k, v in p.items()} for p in people],
                recorded_by=who,
            )
        )
        return f"{len(people)} peserta hadir"

    def owes_many(self, session: Session, places: Iterable[Place]) -> dict[Place, list[Party]]:
        places = list(places)
        recorded = places_having(session, places, Attendance)
        return {p: [] if p in recorded else [Party("admin")] for p in places}

    def due(self, session: Session, ctx: CycleContext, region: str) -> date:
        return ctx.session_date_for(session, region)


# --- steps 11–12: the scores ----------------------------------------------------------------

OVERRIDE_STEP = 11  # the admin continued without every assessor's scores
RETURN_STEP = 13  # the admin returned the results to the assessors


class Scores(Stage):
    kind = "nilai"
    step_no = 11
    done_steps = (11,)
    roles = ("asesor",)
    title = "Nilai asesor"

    def request_for(self, party: Party) -> str:
        return "Formulir Penilaian Asesmen (nilai asesor)"

    def missing_text(self, party: Party) -> str:
        return f"nilai asesor {party.name}"

    def accept(
        self, session: Session, ctx: CycleContext, region: str, payload: dict, via: str, who: str
    ) -> str:
        from assessment.results import ResultLockedError, submit_scores
        from assessment.scoring import ScoringError

        if payload.get("lanjut_tanpa_lengkap"):
            reason = str(payload.get("alasan", "")).strip()
            if not reason:
                raise InputRefused(["Melanjutkan tanpa nilai lengkap memerlukan alasan"])
            record_step(
                session,
                cycle_id=ctx.id,
                region_code=region,
                step_no=OVERRIDE_STEP,
                event="overridden",
                outcome="dilanjutkan tanpa nilai lengkap",
                who=who,
                detail={"alasan": reason},
            )
            return "admin melanjutkan tanpa nilai lengkap"
        email = str(payload.get("asesor") or "").strip()
        items = payload.get("nilai") or []
        link = str(payload.get("tautan_berkas") or "").strip()
        if link and payload.get("data") is None:  # the Prefect UI's form: a scores file's link
            from inbox.replies import ScoresFileError, parse_scores

            name, content = fetch_linked_file(link, "Tautan berkas nilai")
            try:
                payload = {**payload, "data": parse_scores(name, content)}
            except ScoresFileError as exc:
                raise InputRefused(list(exc.errors)) from None
        if not email and not items and payload.get("data") is None:
            return ""
        if not email:
            raise InputRefused(["Alamat surel asesor wajib diisi"])
        try:
            assessor = get_assessor_by_email(session, email)
        except LookupError as exc:
            raise InputRefused([str(exc)]) from None
        if assessor.id not in active_assessor_ids(session, ctx.id, region):
            raise InputRefused([f"Asesor {assessor.name} tidak ditugaskan menilai wilayah ini"])
        scores = payload.get("data")
        if scores is None:
            scores = levels_from_form(items)
        try:
            submit_scores(
                session,
                cycle_id=ctx.id,
                region_code=region,
                assessor_id=assessor.id,
                scores=scores,
                instrument=_instrument(ctx),
            )
        except ScoringError as exc:
            raise InputRefused(list(exc.errors) or [str(exc)]) from None
        except ResultLockedError as exc:
            raise InputRefused([str(exc)]) from None
        if payload.get("rekomendasi"):
            from services.recommendations import check_recommendations, store_recommendations

            try:
                clean = check_recommendations(
                    payload["rekomendasi"], _instrument(ctx).indicator_codes
                )
            except ValueError as exc:
                raise InputRefused(list(exc.args[0])) from None
            store_recommendations(session, ctx.id, region, assessor.id, clean)
        return f"nilai asesor {assessor.name} diterima"

    def owes_many(self, session: Session, places: Iterable[Place]) -> dict[Place, list[Party]]:
        places = list(places)
        result: dict[Place, list[Party]] = {p: [] for p in places}
        for cycle_id, regions in group_by_cycle(places).items():
            scored = set(
                session.exec(
                    select(Score.region_code, Score.assessor_id)
                    .where(Score.cycle_id == cycle_id, Score.region_code.in_(regions))
                    .distinct()
                )
            )
            accepted = assessors_of(session, cycle_id, regions, AssignmentState.ACCEPTED)
            for code, assessor_id, name, email in accepted:
                if (code, assessor_id) not in scored:
                    result[(cycle_id, code)].append(Party("asesor", assessor_id, name, email))
        return result

    def check(self, session: Session, ctx: CycleContext, region: str) -> StageStatus:
        owing = self.owes(session, ctx.id, region)
        assigned = active_assessor_ids(session, ctx.id, region)
        overridden = _latest_event_day(session, ctx.id, region, OVERRIDE_STEP, "overridden")
        if overridden and len(owing) < len(assigned):
            return StageStatus(True)
        return StageStatus(not owing, [self.missing_text(p) for p in owing], owing)

    def due(self, session: Session, ctx: CycleContext, region: str) -> date:
        start = ctx.session_date_for(session, region)
        returned = _latest_event_day(session, ctx.id, region, RETURN_STEP, "returned")
        return ctx.working_days_after(max(start, returned or start), 11, 12)


# --- step 12: the provisional result --------------------------------------------------------


def formulir_data(session, ctx, region, instrument, rr) -> dict[str, Any]:  # noqa: ANN001
    """The filled Formulir Penilaian Asesmen of one region (input of the ``formulir`` kind)."""
    from assessment.answers import latest_answers
    from assessment.results import assessor_levels
    from assessment.scoring import figures

    levels = assessor_levels(session, ctx.id, region.code)
    assessors = {a: session.get(Assessor, a) for a in levels}
    answers = latest_answers(session, ctx.id, region.code)
    own = {c: a.get("level") for c, a in ((answers.answers or {}) if answers else {}).items()}
    notes = {
        (s.assessor_id, s.indicator_code): s.note
        for s in session.exec(
            select(Score).where(Score.cycle_id == ctx.id, Score.region_code == region.code)
        )
    }
    fig = figures(instrument, rr.final_levels)
    rows = [
        {
            "code": ind.code,
            "name": ind.name,
            "dimension": instrument.dimension_of(ind.code).name,
            "self_level": own.get(ind.code),
            "scores": [
                {
                    "assessor": assessors[a].name,
                    "level": lv.get(ind.code),
                    "note": notes.get((a, ind.code), ""),
                }
                for a, lv in levels.items()
            ],
            "final_level": rr.final_levels.get(ind.code),
            "consensus_note": (rr.consensus.get(ind.code) or {}).get("note", ""),
        }
        for ind in instrument.indicators
    ]
    return {
        "year": ctx.params.year,
        "region_code": region.code,
        "region_name": region.name,
        "instrument_name": instrument.name,
        "session_date": ctx.session_date_for(session, region.code),
        "assessors": [{"name": a.name, "instansi": a.institution} for a in assessors.values()],
        "indicators": rows,
        "dimensions": fig.rows(),
        "total": fig.total,
        "share_places": fig.share_places,
        "predicate": rr.predicate,
        "scale_max": instrument.scale.max,
    }


def preview_result(cycle_id: int, region_code: str, round_no: int) -> dict[str, Any]:
    """Step 12: the result computed from the scores (not stored yet) and the filled Formulir."""
    from assessment.results import region_result
    from letters.service import store_document

    with session_scope() as session:
        ctx = load_cycle(session, cycle_id)
        region = get_region(session, region_code)
        instrument = _instrument(ctx)
        rr = region_result(session, ctx.id, region.code, instrument)
        doc: Document = store_document(
            session,
            "formulir",
            formulir_data(session, ctx, region, instrument, rr),
            cycle_id=ctx.id,
            region_code=region.code,
        )
        flagged = list(rr.needs_consensus)
        return {
            "round": round_no,
            "total": rr.total,
            "predicate": rr.predicate,
            "flagged": flagged,
            "assessors": active_assessor_ids(session, ctx.id, region.code),
            "formulir_document_id": doc.id,
            "outcome": f"nilai sementara {decimal_comma(rr.total)} ({rr.predicate})"
            + (f"; {len(flagged)} indikator perlu konsensus" if flagged else ""),
        }


# --- step 13: acceptance --------------------------------------------------------------------


class Acceptance(Stage):
    kind = "penerimaan"
    step_no = 13
    roles = ("admin",)
    title = "Penerimaan hasil akhir"

    def request_for(self, party: Party) -> str:
        return "penerimaan hasil akhir penilaian"

    def missing_text(self, party: Party) -> str:
        return "penerimaan hasil oleh admin (terima / kembalikan)"

    def accept(
        self, session: Session, ctx: CycleContext, region: str, payload: dict, via: str, who: str
    ) -> str:
        from assessment.results import finalize_result, lock_result
        from assessment.scoring import ScoringError

        decision = str(payload.get("keputusan") or "").strip().lower()
        if not decision:
            return ""
        note = str(payload.get("catatan", "")).strip()
        if decision == "kembalikan":
            if not note:
                raise InputRefused(["Mengembalikan hasil kepada asesor memerlukan catatan"])
            session.exec(delete(Score).where(Score.cycle_id == ctx.id, Score.region_code == region))
            record_step(
                session,
                cycle_id=ctx.id,
                region_code=region,
                step_no=RETURN_STEP,
                event="returned",
                outcome="dikembalikan kepada asesor",
                who=who,
                detail={"catatan": note},
            )
            return "dikembalikan kepada asesor"
        if decision != "terima":
            raise InputRefused([f"Keputusan harus 'terima' atau 'kembalikan', bukan '{decision}'"])
        consensus = levels_from_form(payload.get("konsensus") or [])
        try:
            finalize_result(session, ctx.id, region, _instrument(ctx), consensus=consensus or None)
        except ScoringError as exc:
            raise InputRefused(list(exc.errors) or [str(exc)]) from None
        lock_result(session, ctx.id, region, who)
        return "hasil diterima dan dikunci"

    def form_facts(self, session: Session, ctx: CycleContext, region: str) -> list[str]:
        """The provisional result, its predikat and the indicators that need consensus."""
        from assessment.results import consensus_lines, region_result
        from assessment.scoring import ScoringError

        try:
            rr = region_result(session, ctx.id, region, _instrument(ctx))
        except ScoringError:
            return []
        lines = [f"Nilai sementara: **{decimal_comma(rr.total)}** — predikat **{rr.predicate}**"]
        flagged = list(rr.needs_consensus)
        if flagged:
            lines += [
                "",
                f"**{len(flagged)} indikator perlu tingkat konsensus sebelum hasil diterima:**",
                *[f"- {line}" for line in consensus_lines(session, ctx.id, region, flagged)],
            ]
        else:
            lines.append("Tidak ada indikator yang perlu konsensus.")
        return lines

    def owes_many(self, session: Session, places: Iterable[Place]) -> dict[Place, list[Party]]:
        places = list(places)
        locked = places_having(session, places, Result, Result.locked == True)  # noqa: E712
        return {p: [] if p in locked else [Party("admin")] for p in places}

    def check(self, session: Session, ctx: CycleContext, region: str) -> StageStatus:
        owing = self.owes(session, ctx.id, region)
        if not owing:
            return StageStatus(True)
        # A return hands the region back to the assessors: the stage is "complete" for the
        # flow, which then waits for new scores.
        returned = _latest_event_day(session, ctx.id, region, RETURN_STEP, "returned")
        scored = session.exec(
            select(Score.id).where(Score.cycle_id == ctx.id, Score.region_code == region)
        ).first()
        missing = [self.missing_text(p) for p in owing]
        return StageStatus(returned is not None and scored is None, missing, owing)

    def due(self, session: Session, ctx: CycleContext, region: str) -> date:
        previewed = _latest_event_day(session, ctx.id, region, 12, "done")
        return ctx.working_days_after(previewed or ctx.session_date_for(session, region), 13)


def result_is_locked(cycle_id: int, region_code: str) -> bool:
    with session_scope() as session:
        row = session.exec(
            select(Result).where(Result.cycle_id == cycle_id, Result.region_code == region_code)
        ).first()
        return bool(row and row.locked)


def send_result(cycle_id: int, region_code: str) -> dict[str, Any]:
    """Step 13: tell the region its locked result."""

    def build(session: Session, out) -> dict[str, Any]:  # noqa: ANN001
        ctx = load_cycle(session, cycle_id)
        region = get_region(session, region_code)
        result = session.exec(
            select(Result).where(Result.cycle_id == ctx.id, Result.region_code == region.code)
        ).one()
        instrument = _instrument(ctx)
        names = {d.code: d.name for d in instrument.dimensions}
        mail_only(
            session,
            out,
            key=f"c{ctx.id}/{region.code}/hasil/1",
            step_no=13,
            **letter_recipients(region),
            subject=f"Hasil Penilaian PeManTIK Tahun {ctx.params.year} — {region.name}",
            template=f"{TEMPLATES}/hasil",
            context={
                **region_data(ctx, region),
                "total": result.total,
                "predicate": result.predicate,
                "dimension_label": instrument.dimension_label,
                "dimensions": [
                    {"name": names.get(k, k), "score": v}
                    for k, v in (result.dimension_scores or {}).items()
                ],
            },
            cycle_id=ctx.id,
            region_code=region.code,
            kind="hasil",
        )
        return {"total": result.total, "predicate": result.predicate}

    result, receipts = queue_then_deliver(build)
    with session_scope() as session:
        set_progress(session, cycle_id, region_code, step_no=13, state=ProcessState.DONE)
    return {
        **result,
        "receipts": receipts,
        "outcome": f"hasil {decimal_comma(result['total'])} ({result['predicate']}) dikunci dan "
        "dikirim",
    }


STAGES: tuple[Stage, ...] = (AttendanceList(), Scores(), Acceptance())
