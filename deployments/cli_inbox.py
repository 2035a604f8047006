"""``pemantik kotak-masuk``: one reading pass of the inbound mailbox, and its list."""

from __future__ import annotations

import typer
from rich.table import Table

from deployments.cli_common import console, fail, ready_database
from letters.formats import timestamp

inbox_app = typer.Typer(
    help="Kotak masuk: balasan surel dari Kab/Kota dan asesor.", no_args_is_help=True
)


@inbox_app.command("baca")
def baca(
    maildir: str = typer.Option(
        "", "--maildir", help="Baca folder Maildir ini (bawaan: IMAP bila aktif, else data/inbox)."
    ),
    tanpa_kirim: bool = typer.Option(
        False, "--tanpa-kirim", help="Jangan kirim balasan otomatis sekarang (tetap diantrekan)."
    ),
) -> None:
    """Satu kali baca: simpan surel baru, tindak lanjuti, kirim balasan otomatis."""
    from pathlib import Path

    from inbox.reader import read_once
    from inbox.sources import MaildirSource, SourceError
    from models.settings import SettingsError

    ready_database()
    try:
        source = MaildirSource(Path(maildir), create=False) if maildir else None
        report = read_once(source, deliver_replies=not tanpa_kirim)
    except (SourceError, SettingsError) as exc:
        fail(str(exc))
    console.print(report.summary(), highlight=False)
    for outcome in report.outcomes:
        console.print(
            f"  [{outcome.state}] {outcome.message_id}: {outcome.action}", highlight=False
        )
    for line in report.errors:
        console.print(f"[red]galat[/] {line}", highlight=False)
    if report.source_error:
        fail(f"kotak surel tidak dapat dibaca: {report.source_error}")


@inbox_app.command("daftar")
def daftar(
    status: str = typer.Option(
        "", "--status", help="Hanya status ini: received/processed/quarantined/unreadable/error."
    ),
    batas: int = typer.Option(50, "--batas", min=1, help="Jumlah baris terbaru."),
) -> None:
    """Daftar surel masuk beserta statusnya (terbaru di atas)."""
    from sqlmodel import select

    from inbox.act import STATE_LABELS
    from models.db import session_scope
    from models.tables import InboundMessage

    if status and status not in STATE_LABELS:
        fail(f"--status: '{status}' tidak dikenal; pilih salah satu: {', '.join(STATE_LABELS)}")
    url = ready_database()
    with session_scope(url) as session:
        query = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(batas)
        if status:
            query = query.where(InboundMessage.state == status)
        rows = session.exec(query).all()
    table = Table(title="Kotak masuk PeManTIK")
    for col in ("No", "Diterima", "Pengirim", "Subjek", "Wilayah", "Status", "Coba", "Tindakan"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            str(row.id),
            timestamp(row.received_at),
            row.sender,
            row.subject[:60],
            row.region_code or "",
            STATE_LABELS.get(row.state, row.state),
            str(row.attempts),
            (row.error or row.action)[:80],
        )
    console.print(table)
    if not rows:
        console.print("Belum ada surel masuk.")


@inbox_app.command("ulang")
def ulang(
    nomor: int = typer.Argument(..., help="Nomor surel (kolom No pada 'daftar')."),
) -> None:
    """Coba lagi sebuah surel berstatus galat yang sudah melewati batas percobaan."""
    from inbox.act import ERROR, QUARANTINED, RECEIVED
    from models.db import session_scope
    from models.tables import InboundMessage

    url = ready_database()
    with session_scope(url) as session:
        row = session.get(InboundMessage, nomor)
        if row is None:
            fail(f"surel nomor {nomor} tidak ada")
        if row.state == QUARANTINED:
            fail(
                f"surel nomor {nomor} dikarantina; periksa surelnya, lalu lepaskan dengan "
                f"'pemantik kotak-masuk lepas {nomor}'"
            )
        if row.state != ERROR:
            fail(f"surel nomor {nomor} berstatus '{row.state}', bukan galat; tidak diulang")
        row.state, row.attempts = RECEIVED, 0
        session.add(row)
    console.print(f"Surel nomor {nomor} akan diproses lagi pada pembacaan berikutnya.")


@inbox_app.command("lepas")
def lepas(
    nomor: int = typer.Argument(..., help="Nomor surel yang dikarantina (kolom No pada 'daftar')."),
    wilayah: str = typer.Option(
        "", "--wilayah", help="Kode wilayah, bila surel tidak membalas surat PeManTIK."
    ),
    oleh: str = typer.Option("", "--oleh", help="Nama admin yang melepaskan; bawaan: pengguna OS."),
) -> None:
    """Lepaskan surel yang dikarantina setelah diperiksa: diproses seolah-olah dari PIC/asesor."""
    import getpass

    from inbox.act import ReleaseRefused, release
    from inbox.reader import ReadReport, deliver
    from models.settings import get_settings

    ready_database()
    try:
        outcome = release(nomor, oleh or getpass.getuser(), region=wilayah)
    except ReleaseRefused as exc:
        fail(str(exc))
    report = ReadReport("lepas")
    deliver(report, outcome.keys, get_settings())
    console.print(f"Surel nomor {nomor}: {outcome.action}", highlight=False)
    for line in report.errors:
        console.print(f"[red]galat[/] {line}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(inbox_app, name="kotak-masuk")
