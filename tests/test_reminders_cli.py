"""The reminder commands: pemantik status (rich + xlsx), perpanjang, pengingat."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select
from typer.testing import CliRunner

from deployments.cli import app
from models.db import session_scope
from models.tables import Extension, Wait
from tests.cycles import new_cycle, open_stage

runner = CliRunner()


@pytest.fixture
def cycle_with_waits(db_url: str, sim_clock) -> str:
    cycle = new_cycle(2026, date(2026, 3, 2))
    open_stage(sim_clock, cycle, "64.72", "jawaban", date(2026, 3, 6))  # due 25 March
    open_stage(sim_clock, cycle, "64.71", "jawaban", date(2026, 3, 12))  # due 31 March
    return db_url


def test_status_prints_and_exports_coloured_xlsx(cycle_with_waits: str, tmp_path: Path) -> None:
    out = tmp_path / "status.xlsx"
    result = runner.invoke(
        app, ["status", "--siklus", "2026", "--tanggal", "2026-03-30", "--xlsx", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "64.72 Kota Samarinda: 4: lewat 3 hk" in result.output
    assert "64.71 Kota Balikpapan: 4: menunggu s.d. 31/03" in result.output
    assert "1 terlambat" in result.output and "Keterangan" in result.output
    ws = load_workbook(out).active
    header = [c.value for c in ws[3]]
    assert header[:3] == ["Kode", "Wilayah", "01 Kirim Surat Pemberitahuan"]
    rows = {ws.cell(row=r, column=1).value: r for r in range(4, 14)}
    late = ws.cell(row=rows["64.72"], column=6)
    waiting = ws.cell(row=rows["64.71"], column=6)
    assert late.value == "lewat 3 hk" and late.fill.start_color.rgb.endswith("FFC7CE")
    assert waiting.fill.start_color.rgb.endswith("FFEB9C")
    values = [c.value for row in ws.iter_rows() for c in row if c.value]
    assert "Keterangan" in values and any("Diperpanjang" in str(v) for v in values)


def test_perpanjang_moves_the_due_date_and_tells_the_pic(cycle_with_waits: str, sink) -> None:
    result = runner.invoke(
        app,
        ["perpanjang", "--siklus", "2026", "--wilayah", "64.72", "--langkah", "3",
         "--hari", "5", "--alasan", "Listrik padam", "--oleh", "Admin Uji"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 April 2026" in result.output
    assert "terkirim ke pic.samarinda@contoh.example" in result.output
    (message,) = sink.messages()
    assert "Perpanjangan tenggat" in message["Subject"]
    assert "admin.pemantik@kaltimprov.go.id" in message["Cc"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Rabu, 25 Maret 2026 menjadi Rabu, 1 April 2026" in body and "Listrik padam" in body
    with session_scope(cycle_with_waits) as s:
        wait = s.exec(select(Wait).where(Wait.region_code == "64.72")).one()
        assert wait.due_date == date(2026, 4, 1) and wait.extended
        assert s.exec(select(Extension)).one().granted_by == "Admin Uji"
    result = runner.invoke(app, ["status", "--siklus", "2026", "--tanggal", "2026-03-30"])
    assert "diperpanjang s.d. 01/04" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hari", "2", "--sampai", "2026-04-10"], "tepat salah satu"),
        (["--sampai", "2026-13-01"], "--sampai"),
        (["--sampai", "2026-04-03"], "bukan hari kerja"),
        (["--hari", "2", "--asesor", "tidak.ada@contoh.example"], "tidak terdaftar"),
    ],
)
def test_perpanjang_refuses_bad_input(cycle_with_waits: str, args: list[str], message: str) -> None:
    base = ["perpanjang", "--siklus", "2026", "--wilayah", "64.72", "--langkah", "3"]
    result = runner.invoke(app, [*base, *args, "--alasan", "x"])
    assert result.exit_code == 1
    assert message in result.output
    with session_scope(cycle_with_waits) as s:
        assert s.exec(select(Extension)).all() == []


def test_status_unknown_cycle_and_bad_file(cycle_with_waits: str) -> None:
    result = runner.invoke(app, ["status", "--siklus", "2031"])
    assert result.exit_code == 1 and "Siklus tahun 2031 belum ada" in result.output
    result = runner.invoke(app, ["status", "--siklus", "2026", "--xlsx", "status.csv"])
    assert result.exit_code == 1 and ".xlsx" in result.output


def test_pengingat_command_queues_without_sending(cycle_with_waits: str) -> None:
    result = runner.invoke(app, ["pengingat", "--tanggal", "2026-03-25", "--tanpa-kirim"])
    assert result.exit_code == 0, result.output
    assert "1 baru diantrekan" in result.output
    result = runner.invoke(app, ["pengingat", "--tanggal", "2026-03-21"])
    assert "bukan hari kerja" in result.output


def test_wide_terminal_gets_a_table(cycle_with_waits: str) -> None:
    from rich.console import Console

    from reminders.grid_export import print_grid
    from reminders.status import status_grid

    with session_scope(cycle_with_waits) as s:
        grid = status_grid(s, 2026, today=date(2026, 3, 30))
    console = Console(record=True, width=220, color_system="truecolor")
    print_grid(console, grid)
    text = console.export_text(styles=True)
    assert "Kode" in text and "Kuesioner" in text and "Samarinda" in text
    assert "\x1b[1;37;41mlewat 3 hk" in text  # red background for overdue


def test_perpanjang_without_notice_sends_nothing(cycle_with_waits: str, sink) -> None:
    result = runner.invoke(
        app,
        ["perpanjang", "--siklus", "2026", "--wilayah", "64.71", "--langkah", "3",
         "--sampai", "2026-04-08", "--alasan", "Rapat pimpinan", "--tanpa-beritahu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sink.messages() == []
