"""The daily reminder run against a real database and a real SMTP sink (aiosmtpd on loopback)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from mail.sink import start_sink
from models.db import session_scope
from models.settings import reset_settings
from models.tables import Assessor, Dispatch, Letter, StepRecord
from reminders.decide import reminder_key
from reminders.extensions import grant_extension
from reminders.sample import make_cycle, open_wait
from reminders.service import run_reminders


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


def _scenario(url: str) -> dict[str, int]:
    """A region waiting on its answers across Idul Fitri, an assessor waiting on scores."""
    with session_scope(url) as s:
        cycle = make_cycle(s, 2026, date(2026, 3, 2))
        region = open_wait(s, cycle, "64.72", 3, date(2026, 3, 10))  # due Wed 25 March
        assessor = s.exec(select(Assessor).order_by(Assessor.id)).first()
        scores = open_wait(
            s, cycle, "64.71", 11, date(2026, 4, 1), kind="nilai", party="asesor",
            assessor_id=assessor.id,
        )  # fmt: skip  # due Wed 1 April
        return {"cycle": cycle.id, "region": region.id, "assessor": scores.id}


@pytest.mark.slow
def test_every_rung_fires_once_across_idul_fitri_and_double_runs_send_nothing(
    db_url: str, sink
) -> None:
    ids = _scenario(db_url)
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

    region, scores = ids["region"], ids["assessor"]
    expected = [
        (date(2026, 3, 16), reminder_key(region, "h-2", date(2026, 3, 16))),
        (date(2026, 3, 17), reminder_key(region, "h-1", date(2026, 3, 17))),
        (date(2026, 3, 25), reminder_key(region, "h0", date(2026, 3, 25))),
        (date(2026, 3, 26), reminder_key(region, "h+1", date(2026, 3, 26))),
        (date(2026, 3, 30), reminder_key(region, "h+3", date(2026, 3, 30))),
        (date(2026, 3, 30), reminder_key(scores, "h-2", date(2026, 3, 30))),
        (date(2026, 3, 31), reminder_key(scores, "h-1", date(2026, 3, 31))),
        (date(2026, 4, 1), reminder_key(scores, "h0", date(2026, 4, 1))),
        (date(2026, 4, 2), reminder_key(scores, "h+1", date(2026, 4, 2))),
        (date(2026, 4, 7), reminder_key(scores, "h+3-asesor", date(2026, 4, 7))),
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
        escalation = by_key[reminder_key(scores, "h+3-asesor", date(2026, 4, 7))]
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
    (to_head,) = [m for m in messages if m["To"].endswith("kadis.samarinda@contoh.example>")]
    assert "Surat Pengingat" in to_head["Subject"]
    assert [p.get_filename() for p in to_head.iter_attachments()] == [
        Path(letter.pdf_path or letter.file_path).name
    ]


def test_weekend_and_holiday_runs_send_nothing(db_url: str, sink) -> None:
    _scenario(db_url)
    for day in (date(2026, 3, 21), date(2026, 3, 22), date(2026, 3, 23), date(2026, 3, 28)):
        report = run_reminders(db_url, day)
        assert not report.working_day and report.queued == []
        assert "bukan hari kerja" in report.summary()
    assert _dispatch_count(db_url) == 0 and sink.messages() == []


def test_extension_moves_the_reminders(db_url: str, sink) -> None:
    ids = _scenario(db_url)
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


def test_run_with_a_session_and_a_bad_address_is_reported(db_url: str, sink) -> None:
    ids = _scenario(db_url)
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


def test_a_missed_run_still_escalates_once(db_url: str, sink) -> None:
    ids = _scenario(db_url)
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


def test_one_wait_of_several_people_reminds_only_who_still_owes(db_url: str) -> None:
    """Waits as the region flow opens them: one per region and stage, naming several parties."""
    from models.tables import Assignment, Confirmation, Score, Wait

    with session_scope(db_url) as s:
        cycle = make_cycle(s, 2026, date(2026, 7, 1))
        a1, a2 = s.exec(select(Assessor).order_by(Assessor.id)).all()[:2]
        s.add(Assignment(cycle_id=cycle.id, region_code="64.72", assessor_id=a1.id,
                         state="requested"))  # fmt: skip
        s.add(Assignment(cycle_id=cycle.id, region_code="64.72", assessor_id=a2.id,
                         state="accepted"))  # fmt: skip
        confirm = open_wait(s, cycle, "64.72", 8, date(2026, 7, 9), kind="konfirmasi",
                            party="wilayah, asesor")  # fmt: skip  # due Thu 9 July
        scores = open_wait(s, cycle, "64.72", 11, date(2026, 7, 9), kind="nilai",
                           party="asesor")  # fmt: skip
        ids = (confirm.id, scores.id, cycle.id, a1.id, a2.id)
    confirm_id, scores_id, cycle_id, a1_id, a2_id = ids

    def recipients(day: date) -> dict[str, str]:
        report = run_reminders(db_url, day, deliver=False)
        with session_scope(db_url) as s:
            rows = s.exec(select(Dispatch).where(Dispatch.idempotency_key.in_(report.queued)))
            return {r.idempotency_key: r.recipient for r in rows}

    sent = recipients(date(2026, 7, 8))  # h-1 of both waits
    assert sent == {
        reminder_key(confirm_id, "h-1", date(2026, 7, 8)): "pic.samarinda@contoh.example",
        # Only the assessor who has not answered the request is asked to confirm.
        reminder_key(confirm_id, "h-1", date(2026, 7, 8), a1_id): "asesor1@contoh.example",
        # Only the accepted assessor owes scores.
        reminder_key(scores_id, "h-1", date(2026, 7, 8), a2_id): "asesor2@contoh.example",
    }
    with session_scope(db_url) as s:
        s.add(Confirmation(cycle_id=cycle_id, region_code="64.72", attend=True))
        s.add(Score(cycle_id=cycle_id, region_code="64.72", assessor_id=a2_id,
                    indicator_code="1", level=3))  # fmt: skip
    sent = recipients(date(2026, 7, 9))  # due date: the region and assessor 2 are done
    assert sent == {
        reminder_key(confirm_id, "h0", date(2026, 7, 9), a1_id): "asesor1@contoh.example",
        # Nobody owes the scores any more but the wait is still open: the admin is told.
        reminder_key(scores_id, "h0", date(2026, 7, 9)): "admin.pemantik@kaltimprov.go.id",
    }
    with session_scope(db_url) as s:
        assert s.get(Wait, scores_id).state == "open"
