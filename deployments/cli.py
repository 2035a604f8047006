"""The ``pemantik`` command (typer). Help text and messages are in Indonesian."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from sqlmodel import select

from deployments import cli_engine, cli_locale
from deployments.cli_common import console, fail, parse_date, ready_database
from models.settings import SettingsError, get_settings

cli_locale.install()

app = typer.Typer(
    help="PeManTIK — Penguatan Manajemen Tata Kelola TIK Kab/Kota: alur kerja, surat, dan penilaian.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
wilayah_app = typer.Typer(help="Data wilayah Kab/Kota.", no_args_is_help=True)
asesor_app = typer.Typer(help="Data asesor (Tim Penilai).", no_args_is_help=True)
db_app = typer.Typer(help="Basis data aplikasi.", no_args_is_help=True)
app.add_typer(wilayah_app, name="wilayah")
app.add_typer(asesor_app, name="asesor")
app.add_typer(db_app, name="db")


@app.callback()
def _check_settings() -> None:
    """Stop at once, naming the variable, when a setting is wrong."""
    try:
        get_settings()
    except SettingsError as exc:
        fail(str(exc), code=2)
    cli_engine.apply_client_environment()  # before any command imports Prefect


@app.command("rencana")
def rencana(
    mulai: str = typer.Option(..., "--mulai", help="Tanggal mulai siklus (TTTT-BB-HH)."),
    kuesioner: int = typer.Option(
        None, "--hari-kuesioner", help="Ganti lama langkah 3 (hari kerja), mis. 10."
    ),
) -> None:
    """Tampilkan rencana siklus: 14 langkah SOP dengan pelaksana, dokumen, dan tenggat hari kerja."""
    from letters.formats import long_date
    from models.plan import plan_cycle
    from models.workdays import calendar_from_settings

    start = parse_date(mulai, "--mulai")
    overrides = {3: kuesioner} if kuesioner else None
    plan = plan_cycle(start, calendar_from_settings(), overrides)
    table = Table(title=f"Rencana Siklus PeManTIK mulai {long_date(start)}")
    for column in (
        "No",
        "Pelaksana",
        "Kegiatan",
        "Kelengkapan",
        "Hari Kerja",
        "Mulai",
        "Tenggat",
        "Output",
    ):
        table.add_column(column)
    for item in plan:
        table.add_row(
            str(item.step.number),
            item.step.actor,
            item.step.activity,
            item.step.document,
            str(item.sla_days),
            long_date(item.start, with_day=True),
            long_date(item.due, with_day=True),
            item.step.output,
        )
    console.print(table)
    console.print(
        f"Laporan dan SK Penetapan selesai paling lambat {long_date(plan[-1].due, with_day=True)}."
    )


@wilayah_app.command("impor")
def wilayah_impor(berkas: Path = typer.Argument(..., help="Berkas CSV wilayah.")) -> None:
    """Impor daftar Kab/Kota dari CSV (kode,nama,jenis,pic_nama,pic_email,…); semua atau tidak sama sekali."""
    from models.db import session_scope
    from models.registry import RegistryImportError, import_regions

    if not berkas.is_file():
        fail(f"berkas {berkas} tidak ditemukan")
    url = ready_database()
    try:
        with session_scope(url) as session:
            regions = import_regions(session, berkas)
    except RegistryImportError as exc:
        fail(str(exc))
    console.print(f"{len(regions)} wilayah diimpor dari {berkas}.")


@wilayah_app.command("daftar")
def wilayah_daftar() -> None:
    """Tampilkan wilayah yang terdaftar."""
    from models.db import session_scope
    from models.tables import Region

    url = ready_database()
    table = Table(title="Wilayah Kab/Kota")
    for column in ("Kode", "Nama", "PIC", "Email PIC"):
        table.add_column(column)
    with session_scope(url) as session:
        for r in session.exec(select(Region).order_by(Region.code)):
            table.add_row(r.code, r.name, r.pic_name, r.pic_email)
    console.print(table)


@asesor_app.command("impor")
def asesor_impor(berkas: Path = typer.Argument(..., help="Berkas CSV asesor.")) -> None:
    """Impor daftar asesor dari CSV (nama,email,instansi,jabatan,nip,wilayah_asal)."""
    from models.db import session_scope
    from models.registry import RegistryImportError, import_assessors

    if not berkas.is_file():
        fail(f"berkas {berkas} tidak ditemukan")
    url = ready_database()
    try:
        with session_scope(url) as session:
            assessors = import_assessors(session, berkas)
    except RegistryImportError as exc:
        fail(str(exc))
    console.print(f"{len(assessors)} asesor diimpor dari {berkas}.")


@db_app.command("migrasi")
def db_migrasi() -> None:
    """Buat atau perbarui skema basis data ke versi terbaru."""
    from sqlalchemy.engine import make_url

    url = ready_database()
    console.print(f"Basis data siap: {make_url(url).render_as_string(hide_password=True)}")


from deployments import cli_reminders  # noqa: E402

cli_reminders.register(app)


from deployments import cli_assessment  # noqa: E402

cli_assessment.register(app)


from deployments import cli_mail  # noqa: E402

cli_mail.register(app)


from deployments import cli_letters  # noqa: E402

cli_letters.register(app)


from deployments import cli_flows  # noqa: E402

cli_flows.register(app)


from deployments import cli_inbox  # noqa: E402

cli_inbox.register(app)


from deployments import cli_portal  # noqa: E402

cli_portal.register(app)

cli_engine.register(app)


def main() -> None:
    try:
        app()
    except SettingsError as exc:
        fail(str(exc), code=2)


if __name__ == "__main__":
    main()
