"""CLI for deadlines: ``pemantik status``, ``pemantik perpanjang`` and ``pemantik pengingat``."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from deployments.cli_common import console, fail, parse_date, ready_database
from models import clock


def register(app: typer.Typer) -> None:
    app.command("status")(status)
    app.command("perpanjang")(perpanjang)
    app.command("pengingat")(pengingat)


def status(
    siklus: int = typer.Option(..., "--siklus", help="Tahun siklus, mis. 2026."),
    tanggal: str = typer.Option(
        None,
        "--tanggal",
        help="Hitung keterlambatan per tanggal ini (TTTT-BB-HH); bawaan: hari ini (WITA).",
    ),
    xlsx: Path = typer.Option(None, "--xlsx", help="Simpan juga sebagai berkas Excel berwarna."),
) -> None:
    """Tampilkan status siklus: wilayah × 14 langkah SOP (selesai, menunggu, terlambat, diperpanjang)."""
    from models.db import session_scope
    from reminders.grid_export import export_grid_xlsx, print_grid
    from reminders.status import CellStatus, status_grid
    from services.context import NotFound

    today = parse_date(tanggal, "--tanggal") if tanggal else None
    if xlsx is not None and xlsx.suffix.lower() != ".xlsx":
        fail(f"--xlsx: berkas keluaran harus berakhiran .xlsx, bukan '{xlsx.name}'")
    url = ready_database()
    try:
        with session_scope(url) as session:
            grid = status_grid(session, siklus, today=today)
    except NotFound as exc:
        fail(str(exc))
    print_grid(console, grid)
    counts = grid.counts()
    console.print(
        f"{counts[CellStatus.DONE]} selesai, {counts[CellStatus.WAITING]} menunggu, "
        f"{counts[CellStatus.OVERDUE]} terlambat, {counts[CellStatus.EXTENDED]} diperpanjang"
        + (
            f", {counts[CellStatus.FAILED]} terhenti karena galat."
            if counts[CellStatus.FAILED]
            else "."
        )
    )
    if xlsx is not None:
        try:
            export_grid_xlsx(grid, xlsx)
        except OSError as exc:
            fail(f"--xlsx: berkas {xlsx} tidak dapat ditulis: {exc.strerror}")
        console.print(f"Status disimpan ke {xlsx}.")


def perpanjang(
    siklus: int = typer.Option(..., "--siklus", help="Tahun siklus, mis. 2026."),
    wilayah: str = typer.Option(..., "--wilayah", help="Kode wilayah, mis. 64.72."),
    langkah: int = typer.Option(..., "--langkah", help="Nomor langkah SOP yang diperpanjang."),
    hari: int = typer.Option(None, "--hari", help="Tambahan hari kerja setelah tenggat sekarang."),
    sampai: str = typer.Option(None, "--sampai", help="Tenggat baru (TTTT-BB-HH, hari kerja)."),
    alasan: str = typer.Option(..., "--alasan", help="Alasan perpanjangan (wajib)."),
    asesor: str = typer.Option(
        None, "--asesor", help="Email asesor, bila yang diperpanjang penantian asesor."
    ),
    oleh: str = typer.Option(
        None, "--oleh", help="Nama pemberi perpanjangan; bawaan: pengguna OS."
    ),
    beritahu: bool = typer.Option(
        True,
        "--beritahu/--tanpa-beritahu",
        help="Kirim surel tenggat baru ke PIC/asesor (Cc admin).",
    ),
) -> None:
    """Perpanjang tenggat penantian sebuah wilayah (atau asesor) pada satu langkah, dengan alasan."""

    from letters.formats import long_date
    from mail.outbox import OutboxError, deliver_pending_sync
    from models.db import session_scope
    from reminders.extensions import ExtensionError, grant_extension, notify_extension
    from services.context import NotFound, cycle_by_year, get_assessor_by_email

    if (hari is None) == (sampai is None):
        fail("isi tepat salah satu: --hari (tambahan hari kerja) atau --sampai (tanggal baru)")
    new_due = parse_date(sampai, "--sampai") if sampai else None
    url = ready_database()
    try:
        with session_scope(url) as session:
            cycle = cycle_by_year(session, siklus)
            assessor_id = None
            if asesor:
                assessor_id = get_assessor_by_email(session, asesor).id
            ext = grant_extension(
                session,
                cycle_id=cycle.id,
                region_code=wilayah,
                step_no=langkah,
                new_due=new_due,
                extra_days=hari,
                reason=alasan,
                granted_by=oleh or getpass.getuser(),
                assessor_id=assessor_id,
            )
            key = notify_extension(session, ext) if beritahu else None
    except (ExtensionError, NotFound, OutboxError) as exc:
        fail(str(exc))
    console.print(
        f"Tenggat langkah {langkah} untuk {wilayah} diperpanjang dari "
        f"{long_date(ext.old_due, with_day=True)} menjadi "
        f"{long_date(ext.new_due, with_day=True)}. Pengingat mengikuti tanggal baru."
    )
    if key:
        report = deliver_pending_sync(url, keys=[key])
        if report.sent:
            console.print(f"Pemberitahuan tenggat baru terkirim ke {report.sent[0].recipient}.")
        else:
            console.print(
                "[yellow]Pemberitahuan tenggat baru belum terkirim[/] (tetap di antrean surel): "
                + report.summary(),
                highlight=False,
            )


def pengingat(
    tanggal: str = typer.Option(
        None, "--tanggal", help="Jalankan untuk tanggal ini (TTTT-BB-HH); bawaan: hari ini (WITA)."
    ),
    tanpa_kirim: bool = typer.Option(
        False, "--tanpa-kirim", help="Hanya antrekan; jangan kirim surel sekarang."
    ),
) -> None:
    """Jalankan pengingat harian sekali (yang sama dengan jadwal harian; aman dijalankan ulang)."""
    from reminders.ladder import LadderError
    from reminders.service import run_reminders

    today = parse_date(tanggal, "--tanggal") if tanggal else clock.today()
    url = ready_database()
    try:
        report = run_reminders(url, today, deliver=not tanpa_kirim)
    except LadderError as exc:
        fail(str(exc))
    console.print(report.summary())
    for warning in report.warnings:
        console.print(f"[yellow]Peringatan:[/] {warning}", highlight=False)
    for error in report.errors:
        console.print(f"[red]Ditolak:[/] {error}", highlight=False)
