"""Step 14 on SQLite and PostgreSQL: Berita Acara dated on their session days, the SK dated on or
after the last of them, the Daftar Hadir, consensus noted, and the SK sent with a covering letter
to each Kepala Daerah with the region's Diskominfo in Cc (once, whatever runs twice)."""

from __future__ import annotations

from datetime import date

import docx
from sqlmodel import select

from assessment.instruments import load_instrument
from assessment.results import finalize_result, lock_result, submit_scores
from models.db import session_scope
from models.tables import (
    Assessor,
    Assignment,
    AssignmentState,
    Attendance,
    Dispatch,
    Document,
    Letter,
    Region,
)
from services.report import write_report
from tests.cycles import new_cycle

SESSIONS = {"64.72": date(2026, 12, 22), "64.01": date(2026, 12, 10), "64.02": date(2026, 12, 15)}


def _text(path: str) -> str:
    d = docx.Document(path)
    parts = [p.text for p in d.paragraphs]
    parts += [c.text for t in d.tables for r in t.rows for c in r.cells]
    return "\n".join(parts)


def _score_region(session, cycle: int, code: str, spbe, spread_on: str | None) -> None:  # noqa: ANN001
    assessors = [
        a
        for a in session.exec(select(Assessor).order_by(Assessor.id))
        if a.home_region_code != code
    ][:2]
    for a in assessors:
        session.add(
            Assignment(
                cycle_id=cycle, region_code=code, assessor_id=a.id, state=AssignmentState.ACCEPTED
            )
        )
    session.add(
        Attendance(
            cycle_id=cycle,
            region_code=code,
            session_date=SESSIONS[code],
            present=[{"nama": f"Wakil {code}", "jabatan": "Kepala Bidang Aplikasi Informatika"}],
        )
    )
    session.flush()
    for n, a in enumerate(assessors):
        levels = {i.code: {"level": 3} for i in spbe.indicators}
        if spread_on:
            levels[spread_on] = {"level": 1 if n == 0 else 4}
        submit_scores(
            session,
            cycle_id=cycle,
            region_code=code,
            assessor_id=a.id,
            scores=levels,
            instrument=spbe,
        )
    consensus = (
        {spread_on: {"level": 2, "note": "bukti dukung hanya sebagian"}} if spread_on else None
    )
    finalize_result(session, cycle, code, spbe, consensus=consensus)
    lock_result(session, cycle, code, "admin")


def test_sk_follows_the_last_berita_acara_and_goes_to_each_kepala_daerah(
    db_url, sink, sim_clock
) -> None:
    spbe = load_instrument("spbe-2020")
    cycle = new_cycle(2026, date(2026, 7, 1))
    sim_clock(date(2026, 12, 1))  # the demo's compressed calendar: "today" before the sessions
    with session_scope() as s:
        for code in SESSIONS:
            _score_region(s, cycle, code, spbe, "I05" if code == "64.02" else None)
    issued = write_report(cycle, [])
    again = write_report(cycle, [])  # a retried step sends nothing twice
    assert again["sk_penetapan"] == issued["sk_penetapan"]
    with session_scope() as s:
        bas = s.exec(select(Letter).where(Letter.kind == "berita_acara").order_by(Letter.seq)).all()
        sk = s.exec(select(Letter).where(Letter.kind == "sk_penetapan")).one()
        covers = s.exec(select(Letter).where(Letter.kind == "pengantar_sk")).all()
        mails = s.exec(select(Dispatch).where(Dispatch.kind == "pengantar_sk")).all()
        hadir = s.exec(select(Document).where(Document.kind == "daftar_hadir")).all()
        regions = {r.code: r for r in s.exec(select(Region))}
    # Each Berita Acara is dated its session day, in its own register, dates running forward.
    assert {b.region_code: b.letter_date for b in bas} == SESSIONS
    assert [b.letter_date for b in bas] == sorted(b.letter_date for b in bas)
    assert all("/BA." in b.number and b.family == "berita_acara" for b in bas)
    assert sk.family == "keputusan" and "/K." in sk.number
    assert sk.letter_date >= max(b.letter_date for b in bas) == date(2026, 12, 22)
    sk_text = _text(sk.file_path)
    assert "pada tanggal 22 Desember 2026" in sk_text and "Tembusan Yth.:" in sk_text
    assert "Peringkat diurutkan menurut nilai total" in sk_text
    # Consensus and the region's signer on the Berita Acara; the Daftar Hadir from step 10.
    ba_kukar = _text(next(b for b in bas if b.region_code == "64.02").file_path)
    assert "ditetapkan melalui konsensus" in ba_kukar and "bukti dukung hanya sebagian" in ba_kukar
    assert "Wakil 64.02" in ba_kukar and "Perwakilan Kabupaten Kutai Kartanegara," in ba_kukar
    assert "Tidak ada indikator yang ditetapkan melalui konsensus." in _text(bas[0].file_path)
    assert len(hadir) == 3 and "Tanda Tangan" in _text(hadir[0].file_path)
    # One covering letter and one message per Kepala Daerah; the Diskominfo in Cc.
    assert len(covers) == len(mails) == 3
    for m in mails:
        region = regions[m.region_code]
        assert m.recipient == region.leader_email
        assert region.head_email in (m.cc or [])
        assert len(m.attachments or []) >= 3  # the letter, the SK and the Berita Acara
    cover = _text(next(c for c in covers if c.region_code == "64.72").file_path)
    assert "Yth. Wali Kota Samarinda" in cover and sk.number in cover
    assert len(sink.messages()) == 3 + 0  # nothing else is mailed by step 14
