"""Reminders on a real database (SQLite and PostgreSQL): due dates, extensions, status grid."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from models.tables import Dispatch, Extension, NonWorkingDay, RegionProcess, StepRecord, Wait
from reminders.deadlines import DeadlineError, wait_due_date
from reminders.extensions import ExtensionError, grant_extension
from reminders.sample import make_cycle, open_wait
from reminders.status import CellStatus, StatusError, status_grid


def test_due_date_uses_sop_duration_holidays_and_cycle_override(session) -> None:
    cycle = make_cycle(session, 2026, date(2026, 3, 2))
    # 7 working days from Tue 10 March skip Nyepi, Idul Fitri and cuti bersama (18-24 March).
    assert wait_due_date(session, cycle, 3, date(2026, 3, 10)) == date(2026, 3, 25)
    assert wait_due_date(session, cycle, 8, date(2026, 3, 20)) == date(2026, 3, 25)
    override = make_cycle(session, 2027, date(2027, 7, 1), step_overrides={"3": 10})
    # 10 working days: 10-13, 16, 17, 25, 26, 27, 30 March.
    assert wait_due_date(session, override.id, 3, date(2026, 3, 10)) == date(2026, 3, 30)
    session.add(NonWorkingDay(day=date(2026, 3, 26), description="Libur daerah"))
    session.flush()
    assert wait_due_date(session, override, 3, date(2026, 3, 10)) == date(2026, 3, 31)
    with pytest.raises(DeadlineError, match="langkah 15"):
        wait_due_date(session, cycle, 15, date(2026, 3, 10))
    with pytest.raises(DeadlineError, match="siklus"):
        wait_due_date(session, 999, 3, date(2026, 3, 10))


def test_extension_moves_the_wait_and_is_recorded(session) -> None:
    cycle = make_cycle(session, 2026, date(2026, 3, 2))
    wait = open_wait(session, cycle, "64.72", 3, date(2026, 3, 10))
    session.add(
        RegionProcess(
            cycle_id=cycle.id, region_code="64.72", current_step=3, due_date=wait.due_date
        )
    )
    ext = grant_extension(
        session,
        cycle_id=cycle.id,
        region_code="64.72",
        step_no=3,
        extra_days=5,
        reason="Kepala dinas sedang dinas luar",
        granted_by="admin",
    )
    # 5 working days after Wed 25 March: 26, 27, 30, 31 March and 1 April.
    assert (ext.old_due, ext.new_due) == (date(2026, 3, 25), date(2026, 4, 1))
    session.refresh(wait)
    assert wait.due_date == date(2026, 4, 1) and wait.extended
    process = session.exec(select(RegionProcess)).one()
    assert process.due_date == date(2026, 4, 1)
    record = session.exec(select(StepRecord).where(StepRecord.event == "extended")).one()
    assert record.detail["reason"] == "Kepala dinas sedang dinas luar"
    assert record.detail["old_due"] == "2026-03-25" and record.due_date == date(2026, 4, 1)
    ext2 = grant_extension(
        session,
        cycle_id=cycle.id,
        region_code="64.72",
        step_no=3,
        new_due=date(2026, 4, 8),
        reason="Tambahan kedua",
        granted_by="admin",
    )
    assert ext2.old_due == date(2026, 4, 1)
    assert len(session.exec(select(Extension)).all()) == 2


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
        (dict(extra_days=1, reason="x", step_no=4), "tidak ada penantian terbuka"),
        (dict(extra_days=1, reason="x", region_code="99.99"), "tidak dikenal"),
        (dict(extra_days=1, reason="x", assessor_id=1), "asesor 1"),
    ],
)
def test_bad_extension_is_refused_and_writes_nothing(session, kwargs, message) -> None:
    cycle = make_cycle(session, 2026, date(2026, 3, 2))
    wait = open_wait(session, cycle, "64.72", 3, date(2026, 3, 10))
    args = dict(cycle_id=cycle.id, region_code="64.72", step_no=3, granted_by="admin")
    args.update(kwargs)
    with pytest.raises(ExtensionError, match=message):
        grant_extension(session, **args)
    session.refresh(wait)
    assert wait.due_date == date(2026, 3, 25) and not wait.extended
    assert session.exec(select(Extension)).all() == []
    assert session.exec(select(StepRecord)).all() == []


def test_status_grid_cells(session) -> None:
    cycle = make_cycle(session, 2026, date(2026, 3, 2))
    for step_no in (1, 2):
        session.add(
            StepRecord(
                cycle_id=cycle.id,
                region_code="64.72",
                step_no=step_no,
                actor="Bidang Aptika",
                event="done",
                # 23:30 UTC is already the next day in WITA.
                completed_at=datetime(2026, 3, 9, 23, 30, tzinfo=UTC),
            )
        )
    open_wait(session, cycle, "64.72", 3, date(2026, 3, 10))  # due 25 March
    open_wait(session, cycle, "64.71", 3, date(2026, 3, 16))  # due 31 March
    open_wait(session, cycle, "64.01", 3, date(2026, 3, 16))
    grant_extension(
        session,
        cycle_id=cycle.id,
        region_code="64.01",
        step_no=3,
        new_due=date(2026, 4, 10),
        reason="Banjir",
        granted_by="admin",
    )
    grid = status_grid(session, 2026, today=date(2026, 3, 30))
    assert len(grid.columns) == 14 and grid.columns[2] == "03 Isi Kuesioner"
    rows = {row.region_code: row for row in grid.rows}
    assert set(rows) == {"64.01", "64.71", "64.72"}
    samarinda = rows["64.72"].cells
    assert samarinda[0].status == CellStatus.DONE and samarinda[0].day == date(2026, 3, 10)
    assert samarinda[2].status == CellStatus.OVERDUE and samarinda[2].overdue_days == 3
    assert samarinda[2].text() == "lewat 3 hk"
    assert samarinda[3].status == CellStatus.BLANK
    assert rows["64.71"].cells[2].status == CellStatus.WAITING
    assert rows["64.71"].cells[2].day == date(2026, 3, 31)
    assert rows["64.01"].cells[2].status == CellStatus.EXTENDED
    assert rows["64.01"].cells[2].day == date(2026, 4, 10)
    # After the new date the extended wait is overdue, and still marked as extended.
    later = status_grid(session, 2026, today=date(2026, 4, 14))
    cell = {r.region_code: r for r in later.rows}["64.01"].cells[2]
    assert (cell.status, cell.overdue_days, cell.extended) == (CellStatus.OVERDUE, 2, True)
    assert "diperpanjang" in cell.text()
    # An answered wait turns the cell into done.
    wait = session.exec(select(Wait).where(Wait.region_code == "64.71")).one()
    wait.state = "answered"
    session.add(
        StepRecord(
            cycle_id=cycle.id,
            region_code="64.71",
            step_no=3,
            actor="Kab/Kota",
            event="done",
            completed_at=datetime(2026, 3, 27, 2, 0, tzinfo=UTC),
        )
    )
    session.flush()
    grid = status_grid(session, 2026, today=date(2026, 3, 30))
    cell = {r.region_code: r for r in grid.rows}["64.71"].cells[2]
    assert (cell.status, cell.day) == (CellStatus.DONE, date(2026, 3, 27))
    records = grid.as_records()
    assert records[0]["Kode"] == "64.01" and records[0]["03 Isi Kuesioner"].startswith("diperp")


def test_status_grid_without_activity_lists_active_regions(session) -> None:
    make_cycle(session, 2026, date(2026, 7, 1))
    grid = status_grid(session, 2026, today=date(2026, 7, 1))
    assert len(grid.rows) == 10
    assert grid.counts()[CellStatus.BLANK] == 140
    with pytest.raises(StatusError, match="2031"):
        status_grid(session, 2031)


def _outgoing(key: str, cycle_id: int):
    from reminders.queue import Outgoing

    return Outgoing(
        key=key,
        recipient="PIC.Samarinda@Contoh.Example",
        recipient_name="PIC Samarinda",
        cc=["admin.pemantik@kaltimprov.go.id"],
        subject="Pengingat: pengembalian Jawaban Kuesioner",
        template="pengingat",
        context={"tahun": 2026, "hal": "pengembalian Jawaban Kuesioner",
                 "tenggat": date(2026, 3, 25), "nama_wilayah": "Kota Samarinda", "sisa_hari": 1},
        year=2026, kind="pengingat", cycle_id=cycle_id, region_code="64.72",
    )  # fmt: skip


def test_bulk_rows_equal_outbox_enqueue_rows(session) -> None:
    from dataclasses import asdict

    from mail.outbox import enqueue, message_id_for
    from models.settings import get_settings
    from reminders.queue import enqueue_many

    cycle = make_cycle(session, 2026, date(2026, 3, 2))
    item = _outgoing("bulk/1", cycle.id)
    result = enqueue_many(session, [item], get_settings())
    bulk = session.get(Dispatch, result.inserted["bulk/1"])
    args = {k: v for k, v in asdict(item).items() if k != "year"}
    args.update(key="single/1", cc=list(item.cc))
    single = enqueue(session, **args)
    for column in ("recipient", "recipient_name", "cc", "subject", "body_text", "body_html",
                   "kind", "state", "region_code", "cycle_id"):  # fmt: skip
        assert getattr(bulk, column) == getattr(single, column), column
    assert bulk.recipient == "PIC.Samarinda@contoh.example"
    assert bulk.message_id == message_id_for("bulk/1", get_settings().smtp.message_id_domain)


def test_bulk_insert_skips_a_key_queued_concurrently(session, monkeypatch) -> None:
    from mail.outbox import enqueue
    from models.settings import get_settings
    from reminders import queue

    cycle = make_cycle(session, 2026, date(2026, 3, 2))
    first = _outgoing("race/1", cycle.id)
    from dataclasses import asdict

    args = {k: v for k, v in asdict(first).items() if k != "year"}
    enqueue(session, **{**args, "cc": list(first.cc)})
    session.flush()
    # Simulate the race: the lookup misses the key, the insert meets the unique index.
    monkeypatch.setattr(queue, "existing_keys", lambda s, keys: set())
    result = queue.enqueue_many(session, [first, _outgoing("race/2", cycle.id)], get_settings())
    assert set(result.inserted) == {"race/2"} and result.existing == {"race/1"}
    assert len(session.exec(select(Dispatch)).all()) == 2


def test_extension_for_one_assessor_of_a_shared_wait(session) -> None:
    from models.tables import Assessor

    cycle = make_cycle(session, 2026, date(2026, 7, 1))
    assessor = session.exec(select(Assessor).order_by(Assessor.id)).first()
    wait = open_wait(session, cycle, "64.72", 11, date(2026, 7, 9), kind="nilai", party="asesor")
    ext = grant_extension(
        session, cycle_id=cycle.id, region_code="64.72", step_no=11, extra_days=2,
        reason="Asesor sakit", granted_by="admin", assessor_id=assessor.id,
    )  # fmt: skip
    session.refresh(wait)
    assert wait.due_date == ext.new_due == date(2026, 7, 13) and ext.assessor_id == assessor.id


def test_cell_counts_several_open_waits(session) -> None:
    cycle = make_cycle(session, 2026, date(2026, 7, 1))
    open_wait(session, cycle, "64.72", 8, date(2026, 7, 9), kind="kehadiran")
    open_wait(session, cycle, "64.72", 8, date(2026, 7, 6), kind="kesediaan", party="asesor",
              assessor_id=1)  # fmt: skip
    grid = status_grid(session, 2026, today=date(2026, 7, 8))
    cell = grid.rows[0].cells[7]
    assert cell.status == CellStatus.OVERDUE and cell.overdue_days == 2
    assert cell.text() == "lewat 2 hk (2 penantian)"
