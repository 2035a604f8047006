"""The status grid for people: a rich table (CLI) and a coloured xlsx workbook, legend in Indonesian."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from rich.console import Console
from rich.table import Table
from rich.text import Text

from letters.formats import long_date
from reminders.status import STATUS_LABELS, CellStatus, Grid

RICH_STYLES = {
    CellStatus.DONE: "bold green",
    CellStatus.WAITING: "yellow",
    CellStatus.OVERDUE: "bold white on red",
    CellStatus.EXTENDED: "bold blue",
    CellStatus.FAILED: "bold white on magenta",
    CellStatus.BLANK: "dim",
}
XLSX_FILLS = {
    CellStatus.DONE: "C6EFCE",  # green
    CellStatus.WAITING: "FFEB9C",  # yellow
    CellStatus.OVERDUE: "FFC7CE",  # red
    CellStatus.EXTENDED: "BDD7EE",  # blue
    CellStatus.FAILED: "D9B3E6",  # purple
}
LEGEND = [status for status in CellStatus if status != CellStatus.BLANK]  # in the enum's order


def grid_title(grid: Grid) -> str:
    return f"Status Siklus PeManTIK {grid.year} per {long_date(grid.today, with_day=True)}"


def grid_table(grid: Grid) -> Table:
    """A rich table: one row per region, one column per SOP step."""
    table = Table(title=grid_title(grid), show_lines=False, header_style="bold")
    table.add_column("Kode", no_wrap=True)
    table.add_column("Wilayah", no_wrap=True)
    for title in grid.columns:
        number, _, name = title.partition(" ")
        table.add_column(f"{number}\n{name}", overflow="fold")
    for row in grid.rows:
        cells = [Text(cell.text() or "·", style=RICH_STYLES[cell.status]) for cell in row.cells]
        table.add_row(row.region_code, row.region_name, *cells)
    return table


# Below this console width the grid is printed as one line per region instead of a table.
TABLE_MIN_WIDTH = 150


def grid_lines(grid: Grid) -> list[Text]:
    """The grid for a narrow terminal: one line per region listing its non-blank steps."""
    lines = []
    for row in grid.rows:
        line = Text(f"{row.region_code} {row.region_name}: ", style="bold")
        shown = 0
        for number, cell in enumerate(row.cells, start=1):
            if cell.status == CellStatus.BLANK:
                continue
            if shown:
                line.append(" · ")
            line.append(f"{number}: {cell.text()}", style=RICH_STYLES[cell.status])
            shown += 1
        if not shown:
            line.append("belum ada kegiatan", style="dim")
        lines.append(line)
    return lines


def print_grid(console: Console, grid: Grid) -> None:
    """A table on a wide terminal, one line per region on a narrow one; then the legend."""
    if console.width >= TABLE_MIN_WIDTH:
        console.print(grid_table(grid))
    else:
        console.print(Text(grid_title(grid), style="bold"))
        for line in grid_lines(grid):
            console.print(line)
        steps = "; ".join(grid.columns)
        console.print(Text(f"Langkah: {steps}", style="dim"))
    console.print(legend_rich())


def legend_rich() -> Text:
    text = Text("Keterangan: ")
    for status in LEGEND:
        text.append(f" {STATUS_LABELS[status]} ", style=RICH_STYLES[status])
        text.append("  ")
    text.append("hk = hari kerja (Senin–Jumat di luar libur nasional dan cuti bersama)")
    return text


def export_grid_xlsx(grid: Grid, path: Path) -> Path:
    """Write the grid to ``path`` (xlsx) with coloured cells and a legend."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"berkas keluaran harus berakhiran .xlsx, bukan '{path.name}'")
    wb = Workbook()
    ws = wb.active
    ws.title = f"Status {grid.year}"
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws.cell(row=1, column=1, value=grid_title(grid)).font = Font(bold=True, size=13)
    header = ["Kode", "Wilayah", *grid.columns]
    for col, title in enumerate(header, start=1):
        cell = ws.cell(row=3, column=col, value=title)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.border = border
    for r, row in enumerate(grid.rows, start=4):
        ws.cell(row=r, column=1, value=row.region_code).border = border
        ws.cell(row=r, column=2, value=row.region_name).border = border
        for c, item in enumerate(row.cells, start=3):
            cell = ws.cell(row=r, column=c, value=item.text() or None)
            cell.border = border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            colour = XLSX_FILLS.get(item.status)
            if colour:
                cell.fill = PatternFill("solid", start_color=colour, end_color=colour)
    ws.column_dimensions["A"].width = 9
    ws.column_dimensions["B"].width = 30
    for c in range(3, len(header) + 1):
        ws.column_dimensions[get_column_letter(c)].width = 16
    ws.row_dimensions[3].height = 45
    ws.freeze_panes = "C4"

    start = len(grid.rows) + 6
    ws.cell(row=start, column=1, value="Keterangan").font = Font(bold=True)
    for i, status in enumerate(LEGEND, start=1):
        swatch = ws.cell(row=start + i, column=1)
        swatch.fill = PatternFill(
            "solid", start_color=XLSX_FILLS[status], end_color=XLSX_FILLS[status]
        )
        swatch.border = border
        ws.cell(row=start + i, column=2, value=STATUS_LABELS[status])
    below = start + len(LEGEND) + 1
    ws.cell(row=below, column=2, value=STATUS_LABELS[CellStatus.BLANK] + ": sel kosong")
    ws.cell(
        row=below + 1,
        column=2,
        value="hk = hari kerja (Senin–Jumat di luar libur nasional dan cuti bersama, WITA)",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
