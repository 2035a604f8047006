"""CLI for official documents: ``pemantik surat ulang|contoh|daftar``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from deployments.cli_common import console, fail, ready_database
from models import clock

surat_app = typer.Typer(
    help="Naskah dinas: surat bernomor, formulir, berita acara, SK, laporan.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(surat_app, name="surat")


@surat_app.command("ulang")
def surat_ulang(
    nomor: str = typer.Argument(..., help="Nomor surat, mis. 005/12/Diskominfo/2026."),
    keluar: Path = typer.Option(
        None, "--keluar", help="Tulis ke berkas ini (bawaan: berkas tersimpan)."
    ),
) -> None:
    """Buat ulang surat dari snapshot masukannya (teks, kop, dan templat yang sama)."""
    from letters.errors import LetterError
    from letters.render import sha256_bytes
    from letters.service import letter_by_number, regenerate
    from models.db import session_scope

    url = ready_database()
    try:
        with session_scope(url) as session:
            letter = letter_by_number(session, nomor)
            path = regenerate(session, nomor, keluar)
            recorded = letter.sha256
    except LetterError as exc:
        fail(str(exc))
    actual = sha256_bytes(Path(path).read_bytes())
    console.print(f"Surat {nomor} dibuat ulang: {path}")
    if actual == recorded:
        console.print(f"SHA-256 sama dengan yang tercatat: {actual}")
    else:
        console.print(
            f"[yellow]Peringatan:[/] SHA-256 {actual} berbeda dari yang tercatat {recorded} "
            "(teks sama, berkas berbeda; periksa versi python-docx)."
        )


@surat_app.command("contoh")
def surat_contoh(
    keluar: Path = typer.Option(..., "--keluar", help="Folder tujuan."),
    tanggal: str = typer.Option(
        None, "--tanggal", help="Tanggal surat (TTTT-BB-HH), bawaan hari ini."
    ),
    pdf: bool = typer.Option(
        True, "--pdf/--tanpa-pdf", help="Buat juga PDF bila LibreOffice terpasang."
    ),
) -> None:
    """Tulis satu contoh dari setiap dokumen (dengan data contoh) untuk diperiksa admin. Tanpa basis data."""
    from deployments.cli_common import parse_date
    from letters.errors import LetterError
    from letters.examples import example_inputs
    from letters.inputs import KIND_TITLES, NUMBERED_KINDS
    from letters.pdf import PdfError, convert_to_pdf, pdf_available, warn_no_pdf
    from letters.register import format_number, register_of
    from letters.render import render_document
    from models.settings import get_settings

    day = parse_date(tanggal, "--tanggal") if tanggal else clock.today()
    settings = get_settings().letters
    keluar.mkdir(parents=True, exist_ok=True)
    table = Table(title=f"Contoh dokumen di {keluar}")
    for column in ("Dokumen", "Nomor", "Berkas", "Versi templat"):
        table.add_column(column)
    paths = []
    try:
        for seq, (kind, data) in enumerate(example_inputs(0, year=day.year).items(), 1):
            number = None
            if kind in NUMBERED_KINDS:
                entry = register_of(kind)
                number = format_number(
                    entry.number_format,
                    klasifikasi=entry.klasifikasi,
                    seq=seq,
                    unit=settings.unit,
                    on=day,
                )
            result = render_document(
                kind, data, keluar / f"contoh-{kind}.docx", number, letter_date=day
            )
            paths.append(result.path)
            table.add_row(
                KIND_TITLES[kind], number or "-", result.path.name, result.template_version
            )
    except LetterError as exc:
        fail(str(exc))
    console.print(table)
    if not pdf:
        return
    if not pdf_available():
        warn_no_pdf(keluar)
        console.print(
            "[yellow]LibreOffice tidak terpasang:[/] PDF tidak dibuat, berkas .docx yang dipakai."
        )
        return
    try:
        made = convert_to_pdf(paths)
    except PdfError as exc:
        fail(str(exc))
    console.print(f"{len(made)} PDF dibuat di {keluar}.")


@surat_app.command("daftar")
def surat_daftar(tahun: int = typer.Option(None, "--tahun", help="Hanya surat tahun ini.")) -> None:
    """Tampilkan register surat (nomor, jenis, tujuan, hal, tanggal, berkas)."""
    from sqlmodel import select

    from letters.formats import long_date
    from models.db import session_scope
    from models.tables import Letter

    url = ready_database()
    table = Table(title="Register Surat" + (f" Tahun {tahun}" if tahun else ""))
    for column in ("Nomor", "Jenis", "Tujuan", "Hal", "Tanggal", "PDF"):
        table.add_column(column)
    with session_scope(url) as session:
        query = select(Letter).order_by(Letter.year, Letter.family, Letter.seq)
        if tahun:
            query = query.where(Letter.year == tahun)
        for letter in session.exec(query):
            table.add_row(
                letter.number,
                letter.kind,
                letter.addressee,
                letter.subject,
                long_date(letter.letter_date),
                "ya" if letter.pdf_path else "-",
            )
    console.print(table)


@surat_app.command("sahkan")
def surat_sahkan(
    nomor: str = typer.Argument(..., help="Nomor surat, mis. 005/12/Diskominfo/2026."),
    pdf: Path = typer.Option(
        None,
        "--pdf",
        help="PDF surat yang telah ditandatangani dengan sertifikat elektronik; berkas ini "
        "yang dikirim. Tanpa pilihan ini surat disetujui dan dikirim dengan PDF buatan sistem.",
    ),
    oleh: str = typer.Option("admin (CLI)", "--oleh", help="Nama yang mengesahkan."),
) -> None:
    """Sahkan surat yang menunggu pengesahan, lalu kirim (PEMANTIK_SIGNOFF=true)."""
    from services.signoff import sign_off
    from services.waits import InputRefused, NotWaiting

    ready_database()
    try:
        result = sign_off(nomor, signed_pdf=pdf, via="cli", who=oleh)
    except NotWaiting as exc:
        fail(str(exc))
    except InputRefused as exc:
        fail("pengesahan ditolak, tidak ada yang disimpan:\n  - " + "\n  - ".join(exc.errors))
    console.print(f"{result['summary']}.")
    for receipt in result["receipts"]:
        console.print(f"  {receipt['recipient']}: {receipt['state']} {receipt['smtp']}".rstrip())
    if result["missing"]:
        console.print("Masih menunggu pengesahan: " + "; ".join(result["missing"]))
