"""The cycle status grid: regions × SOP steps, each cell done / waiting / overdue / extended."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy import true
from sqlmodel import Session, select

from models import clock, lookups
from models.sop import sop_steps
from models.tables import (
    ProcessState,
    Region,
    RegionProcess,
    StepRecord,
    Wait,
)
from models.workdays import WorkCalendar, calendar_from_settings
from services.context import cycle_by_year


class CellStatus(StrEnum):
    DONE = "done"
    WAITING = "waiting"
    OVERDUE = "overdue"
    EXTENDED = "extended"
    FAILED = "failed"  # the region's run stopped on an error on this step
    BLANK = "blank"


# Indonesian labels for the legend (CLI, xlsx, artifact).
STATUS_LABELS = {
    CellStatus.DONE: "Selesai (tanggal selesai)",
    CellStatus.WAITING: "Menunggu (tenggat)",
    CellStatus.OVERDUE: "Terlambat (jumlah hari kerja lewat tenggat)",
    CellStatus.EXTENDED: "Diperpanjang (tenggat baru)",
    CellStatus.FAILED: "Terhenti karena galat (perlu dijalankan ulang)",
    CellStatus.BLANK: "Belum dimulai / tidak ada penantian",
}


@dataclass(frozen=True)
class Cell:
    status: CellStatus = CellStatus.BLANK
    day: date | None = None  # done: the completion date; otherwise the due date
    overdue_days: int = 0
    extended: bool = False
    open_waits: int = 0

    def text(self) -> str:
        """A short Indonesian text for the cell, e.g. 'lewat 3 hk' or 'menunggu s.d. 20/07'."""
        base = self._text()
        if self.open_waits > 1:
            return f"{base} ({self.open_waits} penantian)"
        return base

    def _text(self) -> str:
        short = self.day.strftime("%d/%m") if self.day else ""
        if self.status == CellStatus.DONE:
            return f"selesai {short}".strip()
        if self.status == CellStatus.OVERDUE:
            suffix = " (diperpanjang)" if self.extended else ""
            return f"lewat {self.overdue_days} hk{suffix}"
        if self.status == CellStatus.EXTENDED:
            return f"diperpanjang s.d. {short}"
        if self.status == CellStatus.WAITING:
            return f"menunggu s.d. {short}".strip()
        if self.status == CellStatus.FAILED:
            return "terhenti"
        return ""


@dataclass
class GridRow:
    region_code: str
    region_name: str
    cells: list[Cell]


@dataclass
class Grid:
    year: int
    cycle_id: int | None
    today: date
    columns: list[str]  # one title per SOP step, from models/sop.py
    rows: list[GridRow] = field(default_factory=list)

    def counts(self) -> dict[CellStatus, int]:
        result = {status: 0 for status in CellStatus}
        for row in self.rows:
            for cell in row.cells:
                result[cell.status] += 1
        return result

    def as_records(self) -> list[dict[str, str]]:
        """Rows as dicts (for a Prefect table artifact)."""
        records = []
        for row in self.rows:
            record = {"Kode": row.region_code, "Wilayah": row.region_name}
            for title, cell in zip(self.columns, row.cells, strict=True):
                record[title] = cell.text()
            records.append(record)
        return records


def status_grid(
    session: Session,
    year: int,
    today: date | None = None,
    calendar: WorkCalendar | None = None,
    region_code: str | None = None,
) -> Grid:
    """The grid of the newest cycle of ``year`` as of ``today`` (WITA date by default);
    with ``region_code``, that region's row only (a portal page)."""
    cycle = cycle_by_year(session, year)
    today = today or clock.today()
    calendar = calendar or calendar_from_settings(session)
    steps = sop_steps()
    grid = Grid(year, cycle.id, today, [s.task_name for s in steps])

    only = (lambda column: column == region_code) if region_code else (lambda column: true())
    processes = {
        p.region_code: p
        for p in session.exec(
            select(RegionProcess).where(
                RegionProcess.cycle_id == cycle.id, only(RegionProcess.region_code)
            )
        )
    }
    done: dict[tuple[str, int], date | None] = {}
    cycle_done: dict[int, date] = {}  # a cycle-wide step (14, the report) is done for every region
    for rec in session.exec(
        select(StepRecord).where(
            StepRecord.cycle_id == cycle.id,
            StepRecord.event == "done",
            only(StepRecord.region_code),
        )
    ):
        day = clock.local_date(rec.completed_at or rec.recorded_at)
        if rec.region_code is None:
            cycle_done[rec.step_no] = max(d for d in (cycle_done.get(rec.step_no), day) if d)
            continue
        key = (rec.region_code, rec.step_no)
        days = [d for d in (done.get(key), day) if d is not None]
        done[key] = max(days) if days else None
    waits: dict[tuple[str, int], list[Wait]] = {}
    for wait in lookups.open_waits(session, cycle.id, region_code):
        waits.setdefault((wait.region_code, wait.step_no), []).append(wait)

    codes = set(processes) | {code for code, _ in waits} | {code for code, _ in done}
    region_query = select(Region).where(only(Region.code)).order_by(Region.code)
    if not codes:
        region_query = region_query.where(Region.active == True)  # noqa: E712
    offsets: dict[date, int] = {}
    for region in session.exec(region_query):
        if codes and region.code not in codes:
            continue
        cells = []
        for s in steps:
            key = (region.code, s.number)
            if key not in done and s.number in cycle_done:
                done[key] = cycle_done[s.number]
            cells.append(
                _cell(
                    waits.get(key, []),
                    key in done,
                    done.get(key),
                    processes.get(region.code),
                    s.number,
                    calendar,
                    today,
                    offsets,
                )
            )
        grid.rows.append(GridRow(region.code, region.name, cells))
    return grid


def _cell(
    open_waits: list[Wait],
    is_done: bool,
    done_day: date | None,
    process: RegionProcess | None,
    step_no: int,
    calendar: WorkCalendar,
    today: date,
    offsets: dict[date, int],
) -> Cell:
    def late(due: date) -> int:
        if due not in offsets:
            offsets[due] = calendar.working_days_between(due, today)
        return offsets[due]

    if open_waits:
        extended = any(w.extended for w in open_waits)
        worst = max(open_waits, key=lambda w: late(w.due_date))
        overdue = late(worst.due_date)
        if overdue > 0:
            return Cell(CellStatus.OVERDUE, worst.due_date, overdue, extended, len(open_waits))
        first_due = min(w.due_date for w in open_waits)
        status = CellStatus.EXTENDED if extended else CellStatus.WAITING
        return Cell(status, first_due, 0, extended, len(open_waits))
    if is_done:
        return Cell(CellStatus.DONE, done_day)
    if (
        process is not None
        and process.current_step == step_no
        and process.state == ProcessState.FAILED
    ):
        return Cell(CellStatus.FAILED)
    if (
        process is not None
        and process.current_step == step_no
        and process.state in (ProcessState.RUNNING, ProcessState.WAITING)
        and process.due_date is not None
    ):
        overdue = late(process.due_date)
        if overdue > 0:
            return Cell(CellStatus.OVERDUE, process.due_date, overdue)
        return Cell(CellStatus.WAITING, process.due_date)
    return Cell()
