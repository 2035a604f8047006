"""Step 14: Berita Acara per region, the SK Penetapan with the ranking, and the Laporan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import select

from letters.formats import number_in_words
from models import clock
from models.db import session_scope
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
        dims = {d.code: d.name for d in instrument.dimensions}
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
            letters = session.exec(
                select(Letter).where(Letter.cycle_id == ctx.id).order_by(Letter.id)
            ).all()
            order = {row["region_code"]: i for i, row in enumerate(ranking)}
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
                        **{k: row[k] for k in ("rank", "region_code", "region_name", "predicate")},
                        "total": float(row["total"]),
                        "dimensions": {
                            dims.get(c, c): v for c, v in (res.dimension_scores or {}).items()
                        },
                    }
                    for row, res in zip(
                        ranking,
                        sorted(results, key=lambda r: order[r.region_code]),
                        strict=True,
                    )
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


def regions_in_cycle(session, cycle_id: int) -> list[str]:  # noqa: ANN001
    from models.tables import RegionProcess

    return [
        r.region_code
        for r in session.exec(select(RegionProcess).where(RegionProcess.cycle_id == cycle_id))
    ]
