"""Reminders: the ladder file, due dates and the daily decision (pure logic, no database)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from models.workdays import WorkCalendar
from reminders.decide import WaitView, decide_day, reminder_key
from reminders.ladder import LadderError, load_ladder, parse_ladder

ADMIN = "admin.pemantik@kaltimprov.go.id"


def _wait(due: date, party: str = "wilayah", wait_id: int = 1, **kw) -> WaitView:
    values = dict(
        wait_id=wait_id,
        cycle_id=1,
        cycle_year=2026,
        region_code="64.72",
        region_name="Kota Samarinda",
        pic_name="PIC Samarinda",
        pic_email="pic.samarinda@contoh.example",
        head_title="Kepala Dinas Kominfo Kota Samarinda",
        head_email="kadis.samarinda@contoh.example",
        step_no=3,
        party=party,
        kind="jawaban",
        description="pengembalian Jawaban Kuesioner",
        due_date=due,
    )
    if party == "asesor":
        values.update(
            assessor_id=7, assessor_name="Asesor Satu", assessor_email="a1@contoh.example"
        )
    values.update(kw)
    return WaitView(**values)


def _fired(
    wait: WaitView, start: date, end: date, calendar: WorkCalendar
) -> list[tuple[date, str]]:
    ladder = load_ladder()
    fired = []
    day = start
    while day <= end:
        for decision in decide_day([wait], day, calendar, ladder, ADMIN).decisions:
            fired.append((day, decision.rung.key))
        day += timedelta(days=1)
    return fired


def test_shipped_ladder_has_the_rungs_of_the_issue() -> None:
    ladder = load_ladder()
    offsets = {(r.offset, p) for r in ladder.rungs for p in r.parties}
    for offset in (-2, -1, 0, 1, 3):
        assert (offset, "wilayah") in offsets
        assert (offset, "asesor") in offsets
    head = ladder.rung_for(3, "wilayah")
    assert head is not None and head.to == "kepala" and head.letter
    assert set(head.cc) == {"pic", "admin"}
    assert ladder.rung_for(3, "asesor").to == "admin"
    assert ladder.rung_for(2, "wilayah") is None
    assert ladder.digest is not None


def test_ladder_across_idul_fitri_2026_fires_each_rung_once_on_its_working_day() -> None:
    # Step 3 (7 working days) starting Tue 10 March 2026: 10-13, 16, 17, then Nyepi, Idul Fitri
    # and cuti bersama 18-24 March are skipped, so the 7th working day is Wed 25 March.
    calendar = WorkCalendar()
    due = calendar.add_working_days(date(2026, 3, 10), 7)
    assert due == date(2026, 3, 25)
    fired = _fired(_wait(due), date(2026, 3, 1), date(2026, 4, 30), calendar)
    assert fired == [
        (date(2026, 3, 16), "h-2"),
        (date(2026, 3, 17), "h-1"),  # the last working day before the holidays
        (date(2026, 3, 25), "h0"),
        (date(2026, 3, 26), "h+1"),
        (date(2026, 3, 30), "h+3"),  # Fri 27 is +2, the weekend does not count
    ]
    for day, _ in fired:
        assert calendar.is_working_day(day)


def test_good_friday_pushes_the_plus_three_rung() -> None:
    calendar = WorkCalendar()
    fired = _fired(_wait(date(2026, 3, 31)), date(2026, 3, 20), date(2026, 4, 20), calendar)
    assert fired == [
        (date(2026, 3, 27), "h-2"),
        (date(2026, 3, 30), "h-1"),
        (date(2026, 3, 31), "h0"),
        (date(2026, 4, 1), "h+1"),
        (date(2026, 4, 6), "h+3"),  # Fri 3 April (Wafat Yesus Kristus) is not a working day
    ]


def test_nothing_is_decided_on_weekends_and_holidays() -> None:
    calendar = WorkCalendar()
    ladder = load_ladder()
    # A wait due on every possible day: on a non-working day nothing at all fires.
    waits = [_wait(date(2026, 3, 1) + timedelta(days=i), wait_id=i) for i in range(60)]
    for day in (date(2026, 3, 21), date(2026, 3, 23), date(2026, 3, 28), date(2026, 3, 19)):
        plan = decide_day(waits, day, calendar, ladder, ADMIN)
        assert not plan.working_day
        assert plan.decisions == [] and plan.overdue == []
    plan = decide_day(waits, date(2026, 3, 25), calendar, ladder, ADMIN)
    assert plan.working_day and plan.decisions


def test_recipients_per_rung_for_region_and_assessor() -> None:
    calendar = WorkCalendar()
    ladder = load_ladder()
    due = date(2026, 7, 10)  # a Friday
    region, assessor = _wait(due), _wait(due, party="asesor", wait_id=2)

    def decision(today: date, wait: WaitView):
        (only,) = decide_day([wait], today, calendar, ladder, ADMIN).decisions
        return only

    d = decision(date(2026, 7, 9), region)
    assert (d.recipient, d.cc) == ("pic.samarinda@contoh.example", ())
    d = decision(date(2026, 7, 13), region)
    assert d.rung.key == "h+1" and d.cc == (ADMIN,)
    assert "lewat 1 hari kerja" in d.message
    d = decision(date(2026, 7, 15), region)
    assert d.recipient == "kadis.samarinda@contoh.example"
    assert set(d.cc) == {"pic.samarinda@contoh.example", ADMIN}
    d = decision(date(2026, 7, 9), assessor)
    assert d.recipient == "a1@contoh.example"
    d = decision(date(2026, 7, 15), assessor)
    assert d.rung.key == "h+3-asesor" and d.recipient == ADMIN and d.cc == ("a1@contoh.example",)
    assert "Asesor Satu" in d.subject
    assert d.key == reminder_key(2, "h+3-asesor", date(2026, 7, 15))


def test_head_without_email_falls_back_to_pic_with_a_warning() -> None:
    calendar = WorkCalendar()
    wait = _wait(date(2026, 7, 10), head_email="")
    (d,) = decide_day([wait], date(2026, 7, 15), calendar, load_ladder(), ADMIN).decisions
    assert d.recipient == "pic.samarinda@contoh.example"
    assert "kepala dinas" in d.warning


def test_overdue_list_for_the_digest_is_sorted_by_lateness() -> None:
    calendar = WorkCalendar()
    waits = [_wait(date(2026, 7, 6), wait_id=1), _wait(date(2026, 7, 1), wait_id=2)]
    waits.append(_wait(date(2026, 7, 20), wait_id=3))
    plan = decide_day(waits, date(2026, 7, 8), calendar, load_ladder(), ADMIN)
    assert [(w.wait_id, n) for w, n in plan.overdue] == [(2, 5), (1, 2)]


def test_extra_day_off_from_data_moves_rungs() -> None:
    calendar = WorkCalendar(extra_days_off=[date(2026, 7, 13)])
    fired = _fired(_wait(date(2026, 7, 10)), date(2026, 7, 1), date(2026, 7, 31), calendar)
    assert (date(2026, 7, 14), "h+1") in fired
    assert all(day != date(2026, 7, 13) for day, _ in fired)


def test_ladder_file_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "tangga.yaml"
    path.write_text(
        "rungs:\n  - {key: h-5, offset: -5, parties: [wilayah], subject: 'Awal {uraian}'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PEMANTIK_LADDER_FILE", str(path))
    ladder = load_ladder()
    assert [r.key for r in ladder.rungs] == ["h-5"] and ladder.digest is None
    monkeypatch.setenv("PEMANTIK_LADDER_FILE", str(tmp_path / "tidak-ada.yaml"))
    with pytest.raises(LadderError, match="PEMANTIK_LADDER_FILE"):
        load_ladder()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rungs: [{key: a, offset: 1, parties: [wilayah], subject: '{x}'}]", "placeholder"),
        ("rungs: [{key: a, offset: 1, parties: [camat], subject: 's'}]", "parties"),
        (
            "rungs: [{key: a, offset: 1, parties: [wilayah], subject: s},"
            " {key: b, offset: 1, parties: [wilayah], subject: s}]",
            "sama-sama",
        ),
        ("rungs: [{key: a, offset: 1, parties: [wilayah], subject: s, to: bupati}]", "to"),
        ("rungs: [: :", "YAML"),
    ],
)
def test_bad_ladder_is_refused_with_the_field(text: str, expected: str) -> None:
    with pytest.raises(LadderError, match=expected):
        parse_ladder(text, source="uji.yaml")


def test_missed_escalation_day_is_caught_up_once() -> None:
    calendar = WorkCalendar()
    ladder = load_ladder()
    wait = _wait(date(2026, 3, 25))  # h+3 falls on Mon 30 March
    # Without the record of what was sent, rungs fire only on their own day.
    assert decide_day([wait], date(2026, 3, 31), calendar, ladder, ADMIN).decisions == []
    sent: set[tuple[int, str, int | None]] = set()
    (late,) = decide_day([wait], date(2026, 3, 31), calendar, ladder, ADMIN, sent).decisions
    assert late.rung.key == "h+3" and late.offset == 4
    assert late.recipient == "kadis.samarinda@contoh.example"
    sent.add((wait.wait_id, "h+3", None))
    assert decide_day([wait], date(2026, 4, 1), calendar, ladder, ADMIN, sent).decisions == []
    # Reminders before the due date are not caught up.
    early = _wait(date(2026, 3, 27), wait_id=2)  # h-1 was Wed 25, h0 Fri 27, h+1 Mon 30
    assert decide_day([early], date(2026, 3, 31), calendar, ladder, ADMIN, set()).decisions == []
