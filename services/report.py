"""Step 14: Berita Acara per region, the SK Penetapan with the ranking, and the Laporan."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from models import clock
from models.db import session_scope
from models.tables import (
    Assessor,
    Assignment,
    AssignmentState,
    Attendance,
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


def write_report(cycle_id: int, unfinished: list[str]) -> dict[str, Any]:
    """Issue every step-14 document (idempotent by key) and return their numbers/paths."""
    from assessment.instruments import load_instrument
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
        dims = {d.code: d.name for d in instrument.dimensions}
        issued: dict[str, Any] = {"berita_acara": [], "unfinished": unfinished}
        made: list[Letter] = []
        for res in results:
            region = regions[res.region_code]
            assessors = [
                session.get(Assessor, a.assessor_id)
                for a in session.exec(
                    select(Assignment).where(
                        Assignment.cycle_id == ctx.id,
                        Assignment.region_code == region.code,
                        Assignment.state == AssignmentState.ACCEPTED,
                    )
                )
            ]
            attendance = session.exec(
                select(Attendance).where(
                    Attendance.cycle_id == ctx.id, Attendance.region_code == region.code
                )
            ).first()
            parties = [
                {"name": a.name, "jabatan": "Asesor", "instansi": a.institution} for a in assessors
            ]
            parties += [
                {
                    "name": p.get("nama", ""),
                    "jabatan": p.get("jabatan", ""),
                    "instansi": region.name,
                }
                for p in ((attendance.present or []) if attendance else [])
                if p.get("nama")
            ]
            letter = issue_letter(
                session,
                "berita_acara",
                {
                    "year": ctx.params.year,
                    "region_name": region.name,
                    "event_date": attendance.session_date
                    if attendance
                    else ctx.session_date_for(session, region.code),
                    "place": ctx.params.venue or ctx.params.online_link,
                    "parties": parties,
                    "assessed": "jawaban kuesioner PeManTIK beserta bukti dukungnya",
                    "instrument_name": instrument.name,
                    "dimensions": [
                        {"name": dims.get(c, c), "score": round(v, 2)}
                        for c, v in (res.dimension_scores or {}).items()
                    ],
                    "total": round(res.total, 2),
                    "predicate": res.predicate,
                    "signers": [
                        {"name": a.name, "jabatan": "Asesor", "nip": a.nip} for a in assessors
                    ],
                },
                idempotency_key=f"c{ctx.id}/{region.code}/berita_acara/1",
                cycle_id=ctx.id,
                region_code=region.code,
                letter_date=today,
                pdf=False,
            )
            made.append(letter)
            issued["berita_acara"].append(
                {"region": region.code, "number": letter.number, "letter_id": letter.id}
            )
        ranking = [
            {
                "rank": r.rank or i + 1,
                "region_code": r.region_code,
                "region_name": regions[r.region_code].name,
                "total": round(r.total, 2),
                "predicate": r.predicate,
            }
            for i, r in enumerate(results)
        ]
        if ranking:
            sk = issue_letter(
                session,
                "sk_penetapan",
                {
                    "year": ctx.params.year,
                    "ranking": ranking,
                    "instrument_name": instrument.name,
                },
                idempotency_key=f"c{ctx.id}/sk_penetapan/1",
                cycle_id=ctx.id,
                letter_date=today,
                pdf=False,
            )
            made.append(sk)
            issued["sk_penetapan"] = {"number": sk.number, "letter_id": sk.id}
            letters = session.exec(
                select(Letter).where(Letter.cycle_id == ctx.id).order_by(Letter.id)
            ).all()
            laporan_input = {
                "year": ctx.params.year,
                "cycle_name": f"PeManTIK {ctx.params.year}",
                "instrument_name": instrument.name,
                "start_date": ctx.params.start_date,
                "end_date": today,
                "report_date": today,
                "timeline": timeline(session, ctx.id, len(regions_in_cycle(session, ctx.id))),
                "results": [
                    {
                        **{
                            k: row[k]
                            for k in ("rank", "region_code", "region_name", "total", "predicate")
                        },
                        "dimensions": {
                            dims.get(c, c): round(v, 2)
                            for c, v in (res.dimension_scores or {}).items()
                        },
                    }
                    for row, res in zip(ranking, results, strict=True)
                ]
                + [
                    {
                        "region_code": c,
                        "region_name": f"{regions[c].name} (belum selesai)",
                        "total": 0.0,
                        "predicate": "Belum selesai",
                    }
                    for c in unfinished
                ],
                "dimensions": [d.name for d in instrument.dimensions],
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
            }
            doc = store_document(
                session, "laporan", laporan_input, cycle_id=ctx.id, region_code=None
            )
            issued["laporan"] = {"file": doc.file_path, "sha256": doc.sha256}
        make_pdfs(session, made)  # one LibreOffice call for every step-14 letter
        return issued


def regions_in_cycle(session, cycle_id: int) -> list[str]:  # noqa: ANN001
    from models.tables import RegionProcess

    return [
        r.region_code
        for r in session.exec(select(RegionProcess).where(RegionProcess.cycle_id == cycle_id))
    ]
