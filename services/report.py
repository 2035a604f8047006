"""Step 14: Berita Acara per region, the SK Penetapan with the ranking, and the Laporan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import select

from letters.formats import number_in_words
from models import clock
from models.db import session_scope
from models.sop import step as sop_step
from models.tables import (
    Assessor,
    Assignment,
    AssignmentState,
    Attendance,
    Document,
    Extension,
    Letter,
    Region,
    Result,
    StepRecord,
)
from services.context import load_cycle


def timeline(session, cycle_id: int, region_count: int) -> list[dict[str, Any]]:  # noqa: ANN001
    """The Laporan's timeline from the step records, with the extensions granted per step."""
    from letters.laporan import timeline_from_records

    records = session.exec(select(StepRecord).where(StepRecord.cycle_id == cycle_id)).all()
    items = [i.model_dump() for i in timeline_from_records(records, total=region_count)]
    extensions = session.exec(select(Extension).where(Extension.cycle_id == cycle_id)).all()
    for item in items:
        granted = [e for e in extensions if e.step_no == item["step_no"]]
        if granted:
            who = sorted({e.region_code or f"asesor {e.assessor_id}" for e in granted})
            latest = max(e.new_due for e in granted)
            item["note"] = (
                f"tenggat diperpanjang untuk {', '.join(who)} (paling lambat {latest.isoformat()})"
            )
    return items


def leader_title(region: Region) -> str:
    """The Kepala Daerah of a region: 'Bupati Paser', 'Wali Kota Samarinda'."""
    if region.kind == "Kota":
        return "Wali Kota " + region.name.removeprefix("Kota ").strip()
    return "Bupati " + region.name.removeprefix("Kabupaten ").strip()


def _attendance(session, cycle_id: int, region_code: str) -> Attendance | None:  # noqa: ANN001
    return session.exec(
        select(Attendance).where(
            Attendance.cycle_id == cycle_id, Attendance.region_code == region_code
        )
    ).first()


def _present(attendance: Attendance | None, region: Region) -> list[dict[str, str]]:
    """The region's people recorded at the session (step 10), as documents list them."""
    return [
        {
            "name": p.get("nama", ""),
            "jabatan": p.get("jabatan", ""),
            "instansi": p.get("instansi", "") or region.name,
        }
        for p in ((attendance.present or []) if attendance else [])
        if p.get("nama")
    ]


def berita_acara_data(session, ctx, region, res, instrument, assessors) -> dict[str, Any]:  # noqa: ANN001
    """The Berita Acara of one region: exact figures, consensus, the parties and signers."""
    from assessment.scoring import figures

    attendance = _attendance(session, ctx.id, region.code)
    fig = figures(instrument, res.final_levels or {})
    present = _present(attendance, region)
    parties = [
        {"name": a.name, "jabatan": "Asesor", "instansi": a.institution} for a in assessors
    ] + present
    return {
        "year": ctx.params.year,
        "region_name": region.name,
        "event_date": attendance.session_date
        if attendance
        else ctx.session_date_for(session, region.code),
        "place": ctx.params.venue or ctx.params.online_link,
        "parties": parties,
        "assessed": "jawaban kuesioner PeManTIK beserta bukti dukungnya",
        "instrument_name": instrument.name,
        "dimensions": fig.rows(),
        "total": fig.total,
        "share_places": fig.share_places,
        "predicate": res.predicate,
        "consensus": [
            {
                "code": code,
                "name": instrument.indicator(code).name
                if code in instrument.indicator_codes
                else "",
                "level": int(item.get("level")),
                "note": str(item.get("note") or ""),
            }
            for code, item in (res.consensus or {}).items()
        ],
        "signers": [{"name": a.name, "jabatan": "Asesor", "nip": a.nip} for a in assessors],
        "region_signers": [
            {"name": p["name"], "jabatan": p["jabatan"] or f"Perwakilan {region.name}"}
            for p in present
        ],
    }


def daftar_hadir_data(session, ctx, region, assessors) -> dict[str, Any] | None:  # noqa: ANN001
    """The Daftar Hadir of the session from the attendance stage (None when none was kept)."""
    attendance = _attendance(session, ctx.id, region.code)
    if attendance is None:
        return None
    people = [
        {"name": a.name, "jabatan": "Asesor", "instansi": a.institution} for a in assessors
    ] + _present(attendance, region)
    return {
        "year": ctx.params.year,
        "region_name": region.name,
        "event_date": attendance.session_date,
        "place": ctx.params.venue or ctx.params.online_link,
        "agenda": f"Penilaian PeManTIK {region.name} Tahun {ctx.params.year}",
        "people": people,
    }


def ranking_rows(results, regions, instrument) -> list[dict[str, Any]]:  # noqa: ANN001
    """The SK's LAMPIRAN: rank, exact total, predicate and how a tie was decided."""
    from assessment.scoring import rank_table

    by_code = {r.region_code: r for r in results}
    rows = []
    for line in rank_table(results, instrument):
        note = ""
        if line.tied_with:
            names = ", ".join(regions[c].name for c in line.tied_with)
            how = (
                f"diurutkan menurut nilai dimensi {line.decided_by}"
                if line.decided_by
                else "peringkat bersama"
            )
            note = f"Nilai total sama dengan {names}; {how}"
        rows.append(
            {
                "rank": line.rank,
                "region_code": line.region_code,
                "region_name": regions[line.region_code].name,
                "total": line.total,
                "predicate": by_code[line.region_code].predicate,
                "note": note,
            }
        )
    return rows


def _assessors(session, cycle_id: int, region_code: str) -> list[Assessor]:  # noqa: ANN001
    return [
        session.get(Assessor, a.assessor_id)
        for a in session.exec(
            select(Assignment).where(
                Assignment.cycle_id == cycle_id,
                Assignment.region_code == region_code,
                Assignment.state == AssignmentState.ACCEPTED,
            )
        )
    ]


def write_report(cycle_id: int, unfinished: list[str]) -> dict[str, Any]:
    """Issue every step-14 document (idempotent by key), send the SK to each Kepala Daerah,
    and return their numbers/paths.

    Each Berita Acara is dated its session day (issued in session order, so its register's dates
    run forward); the SK is dated on or after the last Berita Acara.
    """
    from assessment.instruments import load_instrument
    from assessment.scoring import tie_rule_text
    from letters.legal import sk_sections
    from letters.service import issue_letter, make_pdfs, store_document

    today = clock.today()
    with session_scope() as session:
        ctx = load_cycle(session, cycle_id)
        instrument = load_instrument(ctx.cycle.instrument_code)
        results = session.exec(
            select(Result)
            .where(Result.cycle_id == ctx.id, Result.locked == True)  # noqa: E712
            .order_by(Result.rank, Result.region_code)
        ).all()
        regions = {r.code: r for r in session.exec(select(Region))}
        issued: dict[str, Any] = {"berita_acara": [], "daftar_hadir": [], "unfinished": unfinished}
        made: list[Letter] = []
        prepared = []
        for res in results:
            region = regions[res.region_code]
            assessors = _assessors(session, ctx.id, region.code)
            prepared.append(
                (
                    res,
                    region,
                    assessors,
                    berita_acara_data(session, ctx, region, res, instrument, assessors),
                )
            )
        prepared.sort(key=lambda item: (item[3]["event_date"], item[1].code))
        for _res, region, assessors, data in prepared:
            letter = issue_letter(
                session,
                "berita_acara",
                data,
                idempotency_key=f"c{ctx.id}/{region.code}/berita_acara/1",
                cycle_id=ctx.id,
                region_code=region.code,
                letter_date=data["event_date"],
                pdf=False,
            )
            made.append(letter)
            issued["berita_acara"].append(
                {"region": region.code, "number": letter.number, "letter_id": letter.id}
            )
            hadir = daftar_hadir_data(session, ctx, region, assessors)
            if hadir is not None:
                doc = store_document(
                    session, "daftar_hadir", hadir, cycle_id=ctx.id, region_code=region.code
                )
                issued["daftar_hadir"].append({"region": region.code, "file": doc.file_path})
        ranking = ranking_rows(results, regions, instrument)
        if ranking:
            sections = sk_sections()
            sk_date = max([today, *(lt.letter_date for lt in made)])
            sk = issue_letter(
                session,
                "sk_penetapan",
                {
                    "year": ctx.params.year,
                    "ranking": ranking,
                    "ranking_rule": tie_rule_text(instrument),
                    "instrument_name": instrument.name,
                    "considerations": sections.considerations,
                    "legal_bases": sections.legal_bases,
                    "cc": sections.cc,
                },
                idempotency_key=f"c{ctx.id}/sk_penetapan/1",
                cycle_id=ctx.id,
                letter_date=sk_date,
                pdf=False,
            )
            made.append(sk)
            issued["sk_penetapan"] = {"number": sk.number, "letter_id": sk.id}
            order = {row["region_code"]: i for i, row in enumerate(ranking)}
            laporan_input = laporan_data(
                session,
                ctx,
                instrument,
                sorted(results, key=lambda r: order[r.region_code]),
                ranking,
                regions,
                unfinished,
                max(today, sk.letter_date),
            )
            doc = store_document(
                session, "laporan", laporan_input, cycle_id=ctx.id, region_code=None
            )
            issued["laporan"] = {"file": doc.file_path, "sha256": doc.sha256}
        make_pdfs(session, made)  # one LibreOffice call for every step-14 letter
    if "sk_penetapan" in issued:
        issued["pengantar"] = send_decisions(cycle_id)
    return issued


def send_decisions(cycle_id: int) -> list[dict]:
    """The SK to each Kepala Daerah with a covering letter, the region's Diskominfo in Cc, and
    the region's Berita Acara and Formulir attached (idempotent: one letter and message each)."""
    from services.context import contact_line
    from services.outgoing import issue_and_mail, letter_attachment, queue_then_deliver

    def build(session, out) -> list[str]:  # noqa: ANN001
        ctx = load_cycle(session, cycle_id)
        sk = session.exec(
            select(Letter).where(Letter.idempotency_key == f"c{ctx.id}/sk_penetapan/1")
        ).one()
        ranking = {row["region_code"]: row for row in (sk.snapshot or {}).get("ranking", [])}
        sent = []
        for code, row in sorted(ranking.items()):
            region = session.get(Region, code)
            ba = session.exec(
                select(Letter).where(Letter.idempotency_key == f"c{ctx.id}/{code}/berita_acara/1")
            ).first()
            formulir = session.exec(
                select(Document)
                .where(
                    Document.cycle_id == ctx.id,
                    Document.region_code == code,
                    Document.kind == "formulir",
                )
                .order_by(Document.id.desc())
            ).first()
            office = region.head_email or region.pic_email
            to = region.leader_email or office
            cc = [a for a in dict.fromkeys([office, region.pic_email]) if a and a != to]
            attachments = [letter_attachment(sk)]
            attachments += [letter_attachment(ba)] if ba else []
            attachments += [Path(formulir.file_path)] if formulir else []
            issue_and_mail(
                session,
                out,
                kind="pengantar_sk",
                step_no=14,
                data={
                    "year": ctx.params.year,
                    "addressee": {"name": leader_title(region)},
                    "region_name": region.name,
                    "sk_number": sk.number,
                    "sk_date": sk.letter_date,
                    "ba_number": ba.number if ba else "",
                    "total": row["total"],
                    "predicate": row.get("predicate", ""),
                    "rank": row.get("rank"),
                    "region_count": len(ranking),
                    "contact": contact_line(),
                    "cc": [region.head_title or f"Kepala Dinas Kominfo {region.name}"],
                    "lampiran": f"{len(attachments)} ({number_in_words(len(attachments))}) berkas",
                },
                key=f"c{ctx.id}/{code}/pengantar_sk/1",
                recipient=to,
                recipient_name=leader_title(region),
                template="report/pengantar_sk",
                cycle_id=ctx.id,
                region_code=code,
                extra_attachments=attachments,
                cc=cc,
                letter_date=sk.letter_date,
            )
            sent.append(code)
        return sent

    _, receipts = queue_then_deliver(build)
    return receipts


# The documents the Laporan lists as its attachments, in this order (those that exist).
ATTACHMENT_KINDS = ("sk_penetapan", "berita_acara", "daftar_hadir")


def activity_period(session, cycle_id: int) -> tuple[Any, Any]:  # noqa: ANN001
    """The activity's first and last day (WITA) from its step records."""
    from sqlmodel import func

    first, last = session.exec(
        select(func.min(StepRecord.recorded_at), func.max(StepRecord.recorded_at)).where(
            StepRecord.cycle_id == cycle_id
        )
    ).one()
    return clock.local_date(first), clock.local_date(last)


def timeline_events(session, ctx, regions: dict) -> list[dict]:  # noqa: ANN001
    """Obstacles and follow-ups, in date order: late answers, refused answers, reminders,
    assessors who declined and who replaced them, extensions, reschedulings, returns."""
    from models.workdays import calendar_from_settings

    calendar = calendar_from_settings(session)
    name = {code: r.name for code, r in regions.items()}
    people = {a.id: a.name for a in session.exec(select(Assessor))}
    events: list[dict[str, Any]] = []
    records = session.exec(
        select(StepRecord).where(StepRecord.cycle_id == ctx.id).order_by(StepRecord.id)
    ).all()
    answered: dict[str, StepRecord] = {}
    reminders: dict[tuple[str, int], list] = {}
    for r in records:
        day = clock.local_date(r.completed_at or r.recorded_at)
        where = name.get(r.region_code or "", "")
        if r.event == "refused":
            what = sop_step(r.step_no).document
            events.append(
                {"day": day, "region_name": where, "text": f"{what} ditolak dan diminta ulang"}
            )
        elif r.event == "reminder" and r.region_code:
            reminders.setdefault((r.region_code, r.step_no), []).append(day)
        elif r.event in ("rescheduled", "returned", "overridden") and r.outcome:
            events.append({"day": day, "region_name": where, "text": r.outcome})
        elif r.step_no == 4 and r.event == "done" and r.region_code:
            answered[r.region_code] = r
    for code, r in answered.items():
        day = clock.local_date(r.completed_at or r.recorded_at)
        if r.due_date is not None and day is not None and day > r.due_date:
            late = calendar.working_days_between(r.due_date, day)
            events.append(
                {
                    "day": day,
                    "region_name": name.get(code, code),
                    "text": f"jawaban kuesioner diterima terlambat {late} hari kerja dari "
                    f"tenggat {_tanggal(r.due_date)}",
                }
            )
    for (code, _step), days in reminders.items():
        days = sorted(d for d in days if d is not None)
        if days:
            events.append(
                {
                    "day": days[0],
                    "region_name": name.get(code, code),
                    "text": f"{len(days)} pengingat dikirim "
                    f"({', '.join(_tanggal(d, short=True) for d in sorted(set(days)))})",
                }
            )
    for a in session.exec(
        select(Assignment).where(
            Assignment.cycle_id == ctx.id,
            Assignment.state.in_([AssignmentState.DECLINED, AssignmentState.REPLACED]),
        )
    ):
        successor = session.get(Assignment, a.replaced_by_id) if a.replaced_by_id else None
        text = f"asesor {people.get(a.assessor_id, '')} tidak bersedia menilai"
        if a.reason:
            text += f" ({a.reason})"
        if successor is not None:
            text += f"; digantikan oleh {people.get(successor.assessor_id, '')}"
        events.append(
            {
                "day": clock.local_date(a.responded_at),
                "region_name": name.get(a.region_code, a.region_code),
                "text": text,
            }
        )
    for e in session.exec(select(Extension).where(Extension.cycle_id == ctx.id)):
        who = name.get(e.region_code or "", "") or people.get(e.assessor_id or 0, "")
        events.append(
            {
                "day": clock.local_date(e.granted_at),
                "region_name": who,
                "text": f"tenggat diperpanjang sampai {_tanggal(e.new_due)}"
                + (f": {e.reason}" if e.reason else ""),
            }
        )
    events.sort(key=lambda e: (e["day"] or ctx.params.start_date, e["region_name"]))
    return events


def _tanggal(day: Any, short: bool = False) -> str:
    """25 November 2026 (short: 25 November)."""
    from letters.formats import long_date

    text = long_date(day)
    return text.rsplit(" ", 1)[0] if short else text


def laporan_data(  # noqa: PLR0913
    session,  # noqa: ANN001
    ctx,  # noqa: ANN001
    instrument: Any,
    results: list[Result],
    ranking: list[dict[str, Any]],
    regions: dict[str, Region],
    unfinished: list[str],
    today: Any,
) -> dict[str, Any]:
    """The Laporan's input: period, method, timeline, results beside the self-assessment,
    the province's weakest indicators, recommendations per region, attachments, signers."""
    from assessment.scoring import weighted_scores
    from assessment.settings import assessment_settings
    from letters.laporan import overrated_indicators, recommendations_for, weakest_indicators
    from models.settings import get_settings
    from models.tables import AnswerSet

    dims = {d.code: d.name for d in instrument.dimensions}
    start, end = activity_period(session, ctx.id)
    people = {a.id: a for a in session.exec(select(Assessor))}
    accepted: dict[str, list[Assessor]] = {}
    for a in session.exec(
        select(Assignment)
        .where(Assignment.cycle_id == ctx.id, Assignment.state == AssignmentState.ACCEPTED)
        .order_by(Assignment.region_code, Assignment.id)
    ):
        accepted.setdefault(a.region_code, []).append(people[a.assessor_id])
    work: dict[int, dict[str, Any]] = {}
    for code, assessors in sorted(accepted.items()):
        for a in assessors:
            row = work.setdefault(
                a.id, {"name": a.name, "institution": a.institution, "regions": []}
            )
            row["regions"].append(regions[code].name)
    rows = []
    finals: dict[str, dict[str, int]] = {}
    for row, res in zip(ranking, results, strict=True):
        answers = session.exec(
            select(AnswerSet)
            .where(AnswerSet.cycle_id == ctx.id, AnswerSet.region_code == res.region_code)
            .order_by(AnswerSet.version.desc())
        ).first()
        own = {
            c: a["level"]
            for c, a in ((answers.answers or {}) if answers else {}).items()
            if isinstance(a, dict) and isinstance(a.get("level"), int)
        }
        self_dims: dict[str, float] = {}
        self_total = None
        if own and all(c in own for c in instrument.indicator_codes):
            by_code, self_total = weighted_scores(instrument, own)
            self_dims = {dims.get(c, c): float(v) for c, v in by_code.items()}
        final = dict(res.final_levels or {})
        finals[res.region_code] = final
        rows.append(
            {
                **{k: row[k] for k in ("rank", "region_code", "region_name", "predicate")},
                "total": float(row["total"]),
                "dimensions": {
                    dims.get(c, c): float(v) for c, v in (res.dimension_scores or {}).items()
                },
                "self_total": float(self_total) if self_total is not None else None,
                "self_predicate": instrument.predicate_for(self_total)
                if self_total is not None
                else "",
                "self_dimensions": self_dims,
                "assessors": [a.name for a in accepted.get(res.region_code, [])],
                "recommendations": [
                    r.model_dump() for r in recommendations_for(instrument, final, own)
                ],
                "overrated": overrated_indicators(instrument, final, own),
            }
        )
    rules = assessment_settings()
    settings = get_settings()
    kadis, kabid = settings.signatory, settings.report_signatory
    attachments = [
        {
            "number": lt.number,
            "kind": lt.kind,
            "subject": lt.subject,
            "letter_date": lt.letter_date,
            "addressee": lt.addressee,
        }
        for kind in ATTACHMENT_KINDS
        for lt in session.exec(
            select(Letter).where(Letter.cycle_id == ctx.id, Letter.kind == kind).order_by(Letter.id)
        )
    ]
    from models.tables import Document

    # The Daftar Hadir are unnumbered documents: listed by kind and region.
    attachments += [
        {
            "kind": doc.kind,
            "letter_date": clock.local_date(doc.created_at),
            "addressee": regions[doc.region_code].name if doc.region_code in regions else "",
        }
        for doc in session.exec(
            select(Document)
            .where(Document.cycle_id == ctx.id, Document.kind.in_(ATTACHMENT_KINDS))
            .order_by(Document.region_code, Document.id)
        )
    ]
    letters = session.exec(
        select(Letter).where(Letter.cycle_id == ctx.id).order_by(Letter.id)
    ).all()
    return {
        "year": ctx.params.year,
        "cycle_name": f"PeManTIK {ctx.params.year}",
        "instrument_name": instrument.name,
        "start_date": start or ctx.params.start_date,
        "end_date": end or today,
        "report_date": today,
        "timeline": timeline(session, ctx.id, len(regions_in_cycle(session, ctx.id))),
        "events": timeline_events(session, ctx, regions),
        "results": rows,
        "unfinished": [regions[c].name for c in unfinished],
        "dimensions": [d.name for d in instrument.dimensions],
        "dimension_label": instrument.dimension_label,
        "domains": [
            {"name": d.name, "weight": d.weight, "indicators": len(d.indicators)}
            for d in instrument.dimensions
        ],
        "levels": [lv.model_dump() for lv in instrument.levels],
        "assessors": list(work.values()),
        "max_spread": rules.consensus_max_spread,
        "rounding": rules.rounding,
        "weakest_indicators": [w.model_dump() for w in weakest_indicators(instrument, finals)],
        "scale_min": instrument.scale.min,
        "scale_max": instrument.scale.max,
        "predicates": [{"name": p.name, "min": p.min} for p in instrument.predicates],
        "letters": [
            {
                "number": lt.number,
                "subject": lt.subject,
                "letter_date": lt.letter_date,
                "addressee": lt.addressee,
            }
            for lt in letters
        ],
        "attachments": attachments,
        "signatory": {
            "name": kadis.name,
            "nip": kadis.nip,
            "pangkat": kadis.pangkat,
            "jabatan": kadis.jabatan,
        },
        "report_signatory": {
            "name": kabid.name,
            "nip": kabid.nip,
            "pangkat": kabid.pangkat,
            "jabatan": kabid.jabatan,
        },
    }


def regions_in_cycle(session, cycle_id: int) -> list[str]:  # noqa: ANN001
    from models.tables import RegionProcess

    return [
        r.region_code
        for r in session.exec(select(RegionProcess).where(RegionProcess.cycle_id == cycle_id))
    ]
