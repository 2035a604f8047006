"""Reminders on a real database (SQLite and PostgreSQL): due dates, extensions, status grid.

Waits are opened the way the region flow opens them (tests/cycles.py), so their due dates and
wording come from their stages.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from models.audit import record_step
from models.db import session_scope
from models.tables import Extension, NonWorkingDay, RegionProcess, StepRecord, Wait
from reminders.extensions import ExtensionError, grant_extension
from reminders.status import CellStatus, status_grid
from services.context import NotFound, load_cycle
from services.questionnaire import answers_due
from tests.cycles import new_cycle, open_stage


def test_answers_due_uses_sop_durations_holidays_and_cycle_override(db_url) -> None:
    plain, override = new_cycle(2026), new_cycle(2027, date(2027, 7, 1), step_overrides={"3": 10})
    with session_scope() as s:
        # Receive (1) + fill in (7) + send (1) working days from Fri 6 March skip Nyepi,
        # Idul Fitri and cuti bersama (18-24 March).
        assert answers_due(load_cycle(s, plain), date(2026, 3, 6)) == date(2026, 3, 25)
        # Filling in takes 10 working days in the other cycle: 6, 9-13, 16, 17, 25-27, 30.
        assert answers_due(load_cycle(s, override), date(2026, 3, 6)) == date(2026, 3, 30)
        s.add(NonWorkingDay(day=date(2026, 3, 26), description="Libur daerah"))
    with session_scope() as s:
        assert answers_due(load_cycle(s, override), date(2026, 3, 6)) == date(2026, 3, 31)


def test_extension_moves_the_wait_and_is_recorded(db_url, sim_clock) -> None:
    cycle = new_cycle()
    wait = open_stage(sim_clock, cycle, "64.72", "jawaban", date(2026, 3, 6))
    assert wait.due_date == date(2026, 3, 25)
    with session_scope() as s:
        process = s.exec(select(RegionProcess).where(RegionProcess.region_code == "64.72")).one()
        process.current_step, process.due_date = 4, wait.due_date
        ext = grant_extension(
            s,
            cycle_id=cycle,
            region_code="64.72",
            step_no=3,
            extra_days=5,
            reason="Kepala dinas sedang dinas luar",
            granted_by="admin",
        )
        # 5 working days after Wed 25 March: 26, 27, 30, 31 March and 1 April.
        assert (ext.old_due, ext.new_due) == (date(2026, 3, 25), date(2026, 4, 1))
    with session_scope() as s:
        wait = s.get(Wait, wait.id)
        assert wait.due_date == date(2026, 4, 1) and wait.extended
        process = s.exec(select(RegionProcess).where(RegionProcess.region_code == "64.72")).one()
        assert process.due_date == date(2026, 4, 1)
        record = s.exec(select(StepRecord).where(StepRecord.event == "extended")).one()
        assert record.detail["reason"] == "Kepala dinas sedang dinas luar"
        assert record.detail["old_due"] == "2026-03-25" and record.due_date == date(2026, 4, 1)
        ext2 = grant_extension(
            s,
            cycle_id=cycle,
            region_code="64.72",
            step_no=4,
            new_due=date(2026, 4, 8),
            reason="Tambahan kedua",
            granted_by="admin",
        )
        assert ext2.old_due == date(2026, 4, 1)
        assert len(s.exec(select(Extension)).all()) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(extra_days=2, reason="  "), "alasan"),
        (dict(reason="x"), "salah satu"),
        (dict(extra_days=1, new_due=date(2026, 4, 1), reason="x"), "salah satu"),
        (dict(extra_days=0, reason="x"), "minimal 1"),
        (dict(new_due=date(2026, 3, 20), reason="x"), "harus sesudah"),
        (dict(new_due=date(2026, 4, 3), reason="x"), "bukan hari kerja"),
        (dict(new_due=date(2026, 4, 4), reason="x"), "akhir pekan"),
        (dict(extra_days=1, reason="x", step_no=8), "tidak ada penantian terbuka"),
        (dict(extra_days=1, reason="x", region_code="99.99"), "tidak dikenal"),
        (dict(extra_days=1, reason="x", assessor_id=9999), "asesor"),
    ],
)
def test_bad_extension_is_refused_and_writes_nothing(db_url, sim_clock, kwargs, message) -> None:
    cycle = new_cycle()
    wait = open_stage(sim_clock, cycle, "64.72", "jawaban", date(2026, 3, 6))
    args = dict(cycle_id=cycle, region_code="64.72", step_no=3, granted_by="admin")
    args.update(kwargs)
    with session_scope() as s:
        with pytest.raises(ExtensionError, match=message):
            grant_extension(s, **args)
    with session_scope() as s:
        wait = s.get(Wait, wait.id)
        assert wait.due_date == date(2026, 3, 25) and not wait.extended
        assert s.exec(select(Extension)).all() == []
        assert s.exec(select(StepRecord)).all() == []


def test_status_grid_cells(db_url, sim_clock) -> None:
    cycle = new_cycle()
    sim_clock(date(2026, 3, 9), hour=7)  # 23.00 UTC of 8 March is already 9 March in WITA
    with session_scope() as s:
        for step_no in (1, 2):
            record_step(s, cycle_id=cycle, region_code="64.72", step_no=step_no, event="done")
    open_stage(sim_clock, cycle, "64.72", "jawaban", date(2026, 3, 6))  # due 25 March
    open_stage(sim_clock, cycle, "64.71", "jawaban", date(2026, 3, 12))  # due 31 March
    open_stage(sim_clock, cycle, "64.01", "jawaban", date(2026, 3, 12))
    with session_scope() as s:
        grant_extension(
            s,
            cycle_id=cycle,
            region_code="64.01",
            step_no=4,
            new_due=date(2026, 4, 10),
            reason="Banjir",
            granted_by="admin",
        )
    answers = 3  # the answers' wait sits on step 4
    with session_scope() as s:
        grid = status_grid(s, 2026, today=date(2026, 3, 30))
        assert len(grid.columns) == 14 and grid.columns[answers] == "04 Kirim Jawaban Kuesioner"
        rows = {row.region_code: row for row in grid.rows}
        samarinda = rows["64.72"].cells
        assert samarinda[0].status == CellStatus.DONE and samarinda[0].day == date(2026, 3, 9)
        assert samarinda[answers].status == CellStatus.OVERDUE
        assert samarinda[answers].overdue_days == 3
        assert samarinda[answers].text() == "lewat 3 hk"
        assert samarinda[4].status == CellStatus.BLANK
        assert rows["64.71"].cells[answers].status == CellStatus.WAITING
        assert rows["64.71"].cells[answers].day == date(2026, 3, 31)
        assert rows["64.01"].cells[answers].status == CellStatus.EXTENDED
        assert rows["64.01"].cells[answers].day == date(2026, 4, 10)
        # After the new date the extended wait is overdue, and still marked as extended.
        later = status_grid(s, 2026, today=date(2026, 4, 14))
        cell = {r.region_code: r for r in later.rows}["64.01"].cells[answers]
        assert (cell.status, cell.overdue_days, cell.extended) == (CellStatus.OVERDUE, 2, True)
        assert "diperpanjang" in cell.text()
    # A completed stage turns the cell into done.
    from services.waits import close_waits

    sim_clock(date(2026, 3, 27), hour=10)
    close_waits("jawaban", cycle, "64.71")
    with session_scope() as s:
        grid = status_grid(s, 2026, today=date(2026, 3, 30))
        cell = {r.region_code: r for r in grid.rows}["64.71"].cells[answers]
        assert (cell.status, cell.day) == (CellStatus.DONE, date(2026, 3, 27))
        records = grid.as_records()
        first = records[0]
        assert first["Kode"] == "64.01" and first["04 Kirim Jawaban Kuesioner"].startswith("diperp")


def test_status_grid_of_a_new_cycle_lists_its_regions(db_url) -> None:
    new_cycle(2026, date(2026, 7, 1))
    with session_scope() as s:
        grid = status_grid(s, 2026, today=date(2026, 7, 1))
        assert len(grid.rows) == 10
        assert grid.counts()[CellStatus.BLANK] == 140
        with pytest.raises(NotFound, match="2031"):
            status_grid(s, 2031)


def test_extension_for_one_assessor_moves_the_shared_wait(db_url, sim_clock) -> None:
    from models.tables import Assessor

    cycle = new_cycle(2026, date(2026, 7, 1), session_date="2026-07-09")
    wait = open_stage(sim_clock, cycle, "64.72", "nilai", date(2026, 7, 9))
    assert wait.due_date == date(2026, 7, 10)  # the session day + scoring (1) + results (1)
    with session_scope() as s:
        assessor = s.exec(select(Assessor).order_by(Assessor.id)).first()
        ext = grant_extension(
            s, cycle_id=cycle, region_code="64.72", step_no=11, extra_days=2,
            reason="Asesor sakit", granted_by="admin", assessor_id=assessor.id,
        )  # fmt: skip
        assert ext.new_due == date(2026, 7, 14) and ext.assessor_id == assessor.id
    with session_scope() as s:
        assert s.get(Wait, wait.id).due_date == date(2026, 7, 14)


def test_cell_counts_several_open_waits(db_url, sim_clock) -> None:
    cycle = new_cycle(2026, date(2026, 7, 1), session_date="2026-07-06")
    open_stage(sim_clock, cycle, "64.72", "konfirmasi", date(2026, 7, 6))  # due 7 July
    open_stage(sim_clock, cycle, "64.72", "konfirmasi", date(2026, 7, 6), key="again")
    with session_scope() as s:
        assert len(s.exec(select(Wait).where(Wait.state == "open")).all()) == 1
        # Two stages open on one step are counted in the cell.
        s.add(
            Wait(
                cycle_id=cycle, region_code="64.72", step_no=8, kind="konfirmasi",
                started_on=date(2026, 7, 6), due_date=date(2026, 7, 7),
            )
        )  # fmt: skip
    with session_scope() as s:
        grid = status_grid(s, 2026, today=date(2026, 7, 9))
        cell = {r.region_code: r for r in grid.rows}["64.72"].cells[7]
        assert cell.status == CellStatus.OVERDUE and cell.overdue_days == 2
        assert cell.text() == "lewat 2 hk (2 penantian)"
