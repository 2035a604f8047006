"""Each stage owns its wait: its due date (worked out once, kept on a re-ask), who owes it, and
its words; one clock gives every time a person reads. Regression tests of issue 11's bugs."""

from __future__ import annotations

from datetime import date

import docx
from sqlmodel import select

from models.db import session_scope
from models.tables import Letter, Wait
from services import invitation, questionnaire, waits
from tests.cycles import new_cycle, open_stage


def _levels(level: int = 3) -> dict:
    from assessment.instruments import load_instrument

    return {
        i.code: {"level": level, "evidence": f"https://contoh.example/bukti/{i.code}"}
        for i in load_instrument("spbe-2020").indicators
    }


def _text(path: str) -> str:
    document = docx.Document(path)
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_a_reask_keeps_the_due_date_the_letter_gave(db_url, sink, sim_clock) -> None:
    cycle = new_cycle(2026, date(2026, 7, 1), session_date="2026-07-21")
    sim_clock(date(2026, 7, 1))
    invitation.send_invitation(cycle, "64.72", 1)
    first = open_stage(sim_clock, cycle, "64.72", "konfirmasi", date(2026, 7, 1))
    with session_scope() as s:
        letter = s.exec(select(Letter).where(Letter.kind == "undangan")).one()
        told = letter.snapshot["reply_by"] if letter.snapshot else None
    assert first.due_date == date(2026, 7, 2)  # receive (1) + confirm (1) working days
    assert told in (None, "2026-07-02")
    # An invalid form a week later: the flow asks again with a new key.
    again = open_stage(sim_clock, cycle, "64.72", "konfirmasi", date(2026, 7, 8), key="k-1")
    assert again.id != first.id and again.due_date == first.due_date
    with session_scope() as s:
        states = {w.input_key: w.state for w in s.exec(select(Wait))}
        assert states == {"konfirmasi-r1-0": "cancelled", "k-1": "open"}
        # The stage's own rule reads the letter, not the day it is asked on.
        assert waits.due_of(s, cycle, "64.72", "konfirmasi") == date(2026, 7, 2)


def test_answers_are_due_when_the_notification_said(db_url, sink, sim_clock) -> None:
    cycle = new_cycle(2026, date(2026, 7, 1))
    sim_clock(date(2026, 7, 1))
    sent = questionnaire.send_notification(cycle, "64.72")
    wait = open_stage(sim_clock, cycle, "64.72", "jawaban", date(2026, 7, 6))
    assert wait.due_date.isoformat() == sent["deadline"] == "2026-07-13"
    (message,) = sink.messages()
    body = message.get_body(("plain",)).get_content()
    assert "Senin, 13 Juli 2026" in body


def test_form_and_reminder_words_come_from_the_stage(db_url, sim_clock) -> None:
    cycle = new_cycle(2026, date(2026, 7, 1))
    for kind in waits.STAGES:
        open_stage(sim_clock, cycle, "64.72", kind, date(2026, 7, 6))
    from reminders.service import load_open_waits
    from reminders.targets import expand_targets

    with session_scope() as s:
        targets = expand_targets(s, load_open_waits(s))
    words = {(t.kind, t.party): t.description for t in targets}
    assert words[("jawaban", "wilayah")] == "pengembalian Jawaban Kuesioner"
    assert words[("konfirmasi", "wilayah")] == "konfirmasi kehadiran pada pelaksanaan penilaian"
    assert words[("kehadiran", "admin")] == "daftar hadir pelaksanaan penilaian"
    for text in words.values():
        assert "langkah" not in text and "_" not in text
    text = waits.form_text("jawaban", cycle, "64.72", date(2026, 7, 13), ["x"], [])
    assert text.startswith("**Jawaban kuesioner — Kota Samarinda**")
    assert (
        "Senin, 13 Juli 2026" in text
        and "lalu kirimkan" in text
        and "Submit" not in text
        and "64.72" not in text
    )


def test_receipt_times_are_wita_on_both_databases(db_url, sink, sim_clock) -> None:
    """Answers that arrive at 07.45 UTC are received at 15.45 WITA, whatever the database."""
    cycle = new_cycle(2026, date(2026, 7, 1))
    open_stage(sim_clock, cycle, "64.72", "jawaban", date(2026, 7, 1))
    sim_clock(date(2026, 7, 10), hour=15)  # 15.00 WITA = 07.00 UTC
    waits.accept("jawaban", cycle, "64.72", {"data": _levels()}, via="cli", who="PIC")
    receipt = questionnaire.send_receipt(cycle, "64.72")
    with session_scope() as s:
        letter = s.get(Letter, receipt["letter_id"])
        from models.tables import AnswerSet

        stored = s.exec(select(AnswerSet)).one().submitted_at
    assert stored.tzinfo is not None and stored.utcoffset().total_seconds() == 0
    assert stored.hour == 7
    assert "10 Juli 2026 pukul 15.00 WITA" in _text(letter.file_path)
