"""The daily reminder run against a real database and a real SMTP sink (aiosmtpd on loopback).

Every wait is opened the way the region flow opens it (tests/cycles.py): its due date, who owes
it and its wording come from its stage.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from mail.sink import start_sink
from models.db import session_scope
from models.settings import reset_settings
from models.tables import Assessor, Dispatch, Letter, Score, StepRecord, Wait
from reminders.decide import reminder_key
from reminders.extensions import grant_extension
from reminders.service import run_reminders
from services import waits
from services.invitation import assign_for_cycle
from tests.cycles import new_cycle, open_stage


@pytest.fixture
def sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    handle = start_sink(tmp_path / "maildir")
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(handle.port))
    monkeypatch.setenv("PEMANTIK_SMTP__RETRY_BASE_SECONDS", "0")
    reset_settings()
    yield handle
    handle.stop()


def _dispatch_count(url: str) -> int:
    with session_scope(url) as s:
        return s.exec(select(func.count()).select_from(Dispatch)).one()


def _agree(cycle_id: int, region: str, assessor: Assessor) -> None:
    """The assessor says yes to the request, through the stage's own door."""
    waits.accept(
        "konfirmasi",
        cycle_id,
        region,
        {"pihak": assessor.email, "jawaban": "ya", "pernyataan_benturan_kepentingan": "Bebas"},
        via="cli",
        who=assessor.email,
    )


def _scenario(url: str, sim_clock) -> dict[str, int]:  # noqa: ANN001
    """A region waiting on its answers across Idul Fitri, assessors waiting on scores."""
    cycle = new_cycle(2026, date(2026, 3, 2), session_date="2026-03-31")
    region = open_stage(sim_clock, cycle, "64.72", "jawaban", date(2026, 3, 6))  # due 25 March
    assigned = assign_for_cycle(cycle, ["64.71"])["64.71"]
    with session_scope(url) as s:
        first = s.get(Assessor, assigned[0])
    _agree(cycle, "64.71", first)  # the other assessor has not answered: owes no scores
    scores = open_stage(sim_clock, cycle, "64.71", "nilai", date(2026, 3, 31))  # due 1 April
    assert (region.due_date, scores.due_date) == (date(2026, 3, 25), date(2026, 4, 1))
    return {"cycle": cycle, "region": region.id, "assessor": scores.id, "scorer": first.id}


@pytest.mark.slow
def test_every_rung_fires_once_across_idul_fitri_and_double_runs_send_nothing(
    db_url: str, sink, sim_clock
) -> None:
    ids = _scenario(db_url, sim_clock)
    day, end = date(2026, 3, 9), date(2026, 4, 8)
    fired: list[tuple[date, str]] = []
    while day <= end:
        first = run_reminders(db_url, day)
        before = _dispatch_count(db_url), len(sink.messages())
        second = run_reminders(db_url, day)
        # The second run on the same day queues and sends nothing new.
        assert second.queued == [] and second.already_queued == second.decided
        assert (_dispatch_count(db_url), len(sink.messages())) == before
        if not first.working_day:
            assert first.queued == [] and first.decided == 0
        fired.extend((day, key) for key in first.queued)
        day += timedelta(days=1)

    region, scores, scorer = ids["region"], ids["assessor"], ids["scorer"]
    expected = [
        (date(2026, 3, 16), reminder_key(region, "h-2", date(2026, 3, 16))),
        (date(2026, 3, 17), reminder_key(region, "h-1", date(2026, 3, 17))),
        (date(2026, 3, 25), reminder_key(region, "h0", date(2026, 3, 25))),
        (date(2026, 3, 26), reminder_key(region, "h+1", date(2026, 3, 26))),
        (date(2026, 3, 30), reminder_key(region, "h+3", date(2026, 3, 30))),
        (date(2026, 3, 30), reminder_key(scores, "h-2", date(2026, 3, 30), scorer)),
        (date(2026, 3, 31), reminder_key(scores, "h-1", date(2026, 3, 31), scorer)),
        (date(2026, 4, 1), reminder_key(scores, "h0", date(2026, 4, 1), scorer)),
        (date(2026, 4, 2), reminder_key(scores, "h+1", date(2026, 4, 2), scorer)),
        (date(2026, 4, 7), reminder_key(scores, "h+3-asesor", date(2026, 4, 7), scorer)),
    ]
    reminders = [(d, k) for d, k in fired if k.startswith("pengingat/")]
    assert sorted(reminders) == sorted(expected)
    digests = [d for d, k in fired if k.startswith("ringkasan-admin/")]
    # One digest per working day with something overdue: 26 March onwards, skipping 3 April.
    assert digests[0] == date(2026, 3, 26) and date(2026, 4, 3) not in digests
    assert len(digests) == len(set(digests))

    with session_scope(db_url) as s:
        rows = s.exec(select(Dispatch)).all()
        assert all(r.state == "sent" for r in rows), [(r.idempotency_key, r.error) for r in rows]
        records = s.exec(select(StepRecord).where(StepRecord.event == "reminder")).all()
        assert sorted(r.detail["key"] for r in records) == sorted(k for _, k in expected)
        by_key = {r.idempotency_key: r for r in rows}
        head = by_key[reminder_key(region, "h+3", date(2026, 3, 30))]
        assert head.recipient == "kadis.samarinda@contoh.example"
        assert set(head.cc) == {"pic.samarinda@contoh.example", "admin.pemantik@kaltimprov.go.id"}
        escalation = by_key[reminder_key(scores, "h+3-asesor", date(2026, 4, 7), scorer)]
        assert escalation.recipient == "admin.pemantik@kaltimprov.go.id"
        # The +3 rung issued one numbered Surat Pengingat to the head, attached to the email.
        (letter,) = s.exec(select(Letter)).all()
        assert letter.kind == "pengingat" and head.letter_id == letter.id
        assert letter.region_code == "64.72" and letter.letter_date == date(2026, 3, 30)
        assert [a["sha256"] for a in head.attachments] == [letter.pdf_sha256 or letter.sha256]
        (record,) = [r for r in records if r.detail["rung"] == "h+3"]
        assert record.document_id == letter.id

    messages = sink.messages()
    assert len(messages) == len(fired)
    ids_seen = Counter(m["Message-ID"] for m in messages)
    assert max(ids_seen.values()) == 1
    texts = {m["Subject"]: m for m in messages}
    assert any("tenggat besok" in subject for subject in texts)
    # Worded by the stage, never by an internal key ("jawaban langkah 4").
    region_subjects = [m["Subject"] for m in messages if "64.72" in m["Subject"]]
    assert all("Jawaban Kuesioner" in subject for subject in region_subjects), region_subjects
    for m in messages:
        text = m.get_body(("plain",)).get_content()
        assert "langkah" not in (m["Subject"] + text).lower(), m["Subject"]
    (to_head,) = [m for m in messages if m["To"].endswith("kadis.samarinda@contoh.example>")]
    assert "Surat Pengingat" in to_head["Subject"]
    assert [p.get_filename() for p in to_head.iter_attachments()] == [
        Path(letter.pdf_path or letter.file_path).name
    ]


def test_weekend_and_holiday_runs_send_nothing(db_url: str, sink, sim_clock) -> None:
    _scenario(db_url, sim_clock)
    for day in (date(2026, 3, 21), date(2026, 3, 22), date(2026, 3, 23), date(2026, 3, 28)):
        report = run_reminders(db_url, day)
        assert not report.working_day and report.queued == []
        assert "bukan hari kerja" in report.summary()
    assert _dispatch_count(db_url) == 0 and sink.messages() == []


def test_extension_moves_the_reminders(db_url: str, sink, sim_clock) -> None:
    ids = _scenario(db_url, sim_clock)
    with session_scope(db_url) as s:
        grant_extension(
            s,
            cycle_id=ids["cycle"],
            region_code="64.72",
            step_no=3,
            new_due=date(2026, 4, 8),
            reason="Server kuesioner daerah rusak",
            granted_by="admin",
        )
    fired = {}
    day = date(2026, 3, 16)
    while day <= date(2026, 4, 14):
        for key in run_reminders(db_url, day, deliver=False).queued:
            if key.startswith(f"pengingat/{ids['region']}/"):
                fired[key.split("/")[2]] = day
        day += timedelta(days=1)
    # The old dates (16, 17, 25, 26, 30 March) stay silent; the ladder follows 8 April.
    assert fired == {
        "h-2": date(2026, 4, 6),
        "h-1": date(2026, 4, 7),
        "h0": date(2026, 4, 8),
        "h+1": date(2026, 4, 9),
        "h+3": date(2026, 4, 13),
    }


def test_run_with_a_session_and_a_bad_address_is_reported(db_url: str, sink, sim_clock) -> None:
    ids = _scenario(db_url, sim_clock)
    with session_scope(db_url) as s:
        from models.tables import Region

        region = s.get(Region, "64.72")
        region.pic_email = "bukan-alamat"
        s.add(region)
    with session_scope(db_url) as s:
        report = run_reminders(s, date(2026, 3, 17))
    assert report.queued == []
    assert report.errors and "bukan alamat surel yang sah" in report.errors[0]
    assert reminder_key(ids["region"], "h-1", date(2026, 3, 17)) in report.errors[0]
    assert _dispatch_count(db_url) == 0


def test_a_missed_run_still_escalates_once(db_url: str, sink, sim_clock) -> None:
    ids = _scenario(db_url, sim_clock)
    # The job did not run on Mon 30 March, the region's +3 day.
    for day in (date(2026, 3, 27), date(2026, 3, 31), date(2026, 4, 1)):
        run_reminders(db_url, day, deliver=False)
    with session_scope(db_url) as s:
        keys = set(s.exec(select(Dispatch.idempotency_key)).all())
        head = [k for k in keys if k.startswith(f"pengingat/{ids['region']}/h+3/")]
        assert head == [reminder_key(ids["region"], "h+3", date(2026, 3, 31))]
        record = s.exec(
            select(StepRecord).where(StepRecord.event == "reminder", StepRecord.document_id != None)  # noqa: E711
        ).one()
        assert record.detail["caught_up"] is True and record.detail["offset"] == 4


def test_one_wait_of_several_people_reminds_only_who_still_owes(db_url: str, sim_clock) -> None:
    """Waits as the region flow opens them: one per region and stage, for several parties."""
    cycle = new_cycle(2026, date(2026, 7, 1), session_date="2026-07-08")
    a1_id, a2_id = assign_for_cycle(cycle, ["64.72"])["64.72"]
    with session_scope(db_url) as s:
        a1, a2 = s.get(Assessor, a1_id), s.get(Assessor, a2_id)
    _agree(cycle, "64.72", a2)
    confirm = open_stage(sim_clock, cycle, "64.72", "konfirmasi", date(2026, 7, 8))  # due 9 July
    scores = open_stage(sim_clock, cycle, "64.72", "nilai", date(2026, 7, 8))  # due 9 July
    assert confirm.due_date == scores.due_date == date(2026, 7, 9)

    def recipients(day: date) -> dict[str, str]:
        report = run_reminders(db_url, day, deliver=False)
        with session_scope(db_url) as s:
            rows = s.exec(select(Dispatch).where(Dispatch.idempotency_key.in_(report.queued)))
            return {r.idempotency_key: r.recipient for r in rows}

    sent = recipients(date(2026, 7, 8))  # h-1 of both waits
    assert sent == {
        reminder_key(confirm.id, "h-1", date(2026, 7, 8)): "pic.samarinda@contoh.example",
        # Only the assessor who has not answered the request is asked to confirm.
        reminder_key(confirm.id, "h-1", date(2026, 7, 8), a1_id): a1.email,
        # Only the accepted assessor owes scores.
        reminder_key(scores.id, "h-1", date(2026, 7, 8), a2_id): a2.email,
    }
    waits.accept(
        "konfirmasi", cycle, "64.72",
        {"pihak": "wilayah", "jawaban": "ya", "delegasi": [{"nama": "Budi", "jabatan": "Kabid"}]},
        via="cli", who="pic",
    )  # fmt: skip
    with session_scope(db_url) as s:
        s.add(Score(cycle_id=cycle, region_code="64.72", assessor_id=a2_id,
                    indicator_code="1", level=3))  # fmt: skip
    sent = recipients(date(2026, 7, 9))  # due date: the region and assessor 2 are done
    assert sent == {
        reminder_key(confirm.id, "h0", date(2026, 7, 9), a1_id): a1.email,
        # Nobody owes the scores any more but the wait is still open: the admin is told.
        reminder_key(scores.id, "h0", date(2026, 7, 9)): "admin.pemantik@kaltimprov.go.id",
    }
    with session_scope(db_url) as s:
        assert s.get(Wait, scores.id).state == "open"


def test_a_rescheduled_region_is_reminded_of_its_new_date(db_url: str, sim_clock) -> None:
    """A confirmation counts for the session date it answered: a region that declined and was
    moved to a new date owes a new confirmation, and is reminded of it."""
    from services.invitation import settle_confirmations

    cycle = new_cycle(2026, date(2026, 7, 1), session_date="2026-07-08")
    open_stage(sim_clock, cycle, "64.72", "konfirmasi", date(2026, 7, 6))
    waits.accept(
        "konfirmasi", cycle, "64.72",
        {"pihak": "wilayah", "jawaban": "tidak", "alasan": "Bentrok dengan rapat"},
        via="cli", who="pic",
    )  # fmt: skip
    assert waits.check("konfirmasi", cycle, "64.72").complete  # answered: the flow settles it
    waits.close_waits("konfirmasi", cycle, "64.72")
    moved = settle_confirmations(cycle, "64.72", 1)
    assert moved["rescheduled"] == "2026-07-15"
    assert not waits.check("konfirmasi", cycle, "64.72").complete
    again = open_stage(sim_clock, cycle, "64.72", "konfirmasi", date(2026, 7, 13), key="k2")
    report = run_reminders(db_url, again.due_date, deliver=False)
    with session_scope(db_url) as s:
        rows = s.exec(select(Dispatch).where(Dispatch.idempotency_key.in_(report.queued))).all()
        assert "pic.samarinda@contoh.example" in {r.recipient for r in rows}
        assert all("konfirmasi kehadiran" in r.subject for r in rows if "64.72" in r.subject)
