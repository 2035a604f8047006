"""``pemantik hasil`` and ``pemantik instrumen``: result exports and instrument checks."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from sqlmodel import select

from deployments.cli_common import console, fail, ready_database
from letters.formats import decimal_comma

instrumen_app = typer.Typer(help="Instrumen penilaian (berkas YAML).", no_args_is_help=True)
kuesioner_app = typer.Typer(help="Lembar Kuesioner (berkas Excel).", no_args_is_help=True)


def _cycle_and_instrument(session, siklus: int):  # noqa: ANN001, ANN202
    from assessment.instruments import InstrumentError, load_instrument
    from models.tables import Cycle

    cycle = session.exec(
        select(Cycle).where(Cycle.year == siklus).order_by(Cycle.id.desc())
    ).first()
    if cycle is None:
        fail(f"--siklus: siklus tahun {siklus} tidak ditemukan")
    try:
        return cycle, load_instrument(cycle.instrument_code)
    except InstrumentError as exc:
        fail(str(exc))
        raise


def hasil(
    siklus: int = typer.Option(..., "--siklus", help="Tahun siklus, mis. 2026."),
    csv_file: Path = typer.Option(None, "--csv", help="Simpan hasil ke berkas CSV."),
    xlsx_file: Path = typer.Option(None, "--xlsx", help="Simpan hasil ke berkas Excel (.xlsx)."),
    grafik: Path = typer.Option(
        None, "--grafik", help="Folder untuk grafik PNG (indeks total dan profil dimensi)."
    ),
) -> None:
    """Tampilkan dan ekspor hasil penilaian siklus: per indikator, per dimensi, total, predikat, peringkat."""
    from assessment.export import cycle_results, export_csv, export_xlsx
    from models.db import session_scope

    url = ready_database()
    with session_scope(url) as session:
        cycle, instrument = _cycle_and_instrument(session, siklus)
        rows = cycle_results(session, cycle.id)
    if cycle.instrument_version and cycle.instrument_version != instrument.version:
        console.print(
            f"[yellow]Perhatian:[/] siklus memakai instrumen versi {cycle.instrument_version}, "
            f"berkas instrumen saat ini versi {instrument.version}."
        )
    if not rows:
        fail(f"belum ada hasil penilaian yang ditetapkan untuk siklus {siklus}")
    table = Table(title=f"Hasil PeManTIK {siklus} — {instrument.name}")
    # dimension codes keep the table narrow; the exports carry the full names
    for column in ["Peringkat", "Kode", "Wilayah", "Indeks", "Predikat"] + [
        d.code for d in instrument.dimensions
    ]:
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r.rank or "-"),
            r.region_code,
            r.region_name,
            decimal_comma(r.total),
            r.predicate,
            *[decimal_comma(r.dimension_scores.get(d.code, 0)) for d in instrument.dimensions],
        )
    console.print(table)
    from assessment.scoring import tie_rule_text

    console.print(tie_rule_text(instrument))
    if csv_file:
        console.print(f"CSV disimpan: {export_csv(rows, instrument, csv_file)}")
    if xlsx_file:
        console.print(f"Excel disimpan: {export_xlsx(rows, instrument, xlsx_file)}")
    if grafik:
        saved = _save_charts(rows, instrument, grafik, siklus)
        console.print(f"Grafik disimpan: {', '.join(str(p) for p in saved)}")


def _save_charts(rows, instrument, folder: Path, year: int) -> list[Path]:  # noqa: ANN001
    """The totals and dimension-profile charts, one PNG per page of regions."""
    from letters import charts
    from letters.render import write_atomic

    ranked = list(rows)  # best rank first (cycle_results)
    names = [r.region_name for r in ranked]
    scale = charts.ChartScale.of(instrument)
    axis = f"Indeks (skala {instrument.scale_text})"
    pages = {
        f"indeks-total-{year}": charts.totals_charts(
            names,
            [float(r.total) for r in ranked],
            scale=scale,
            title=f"Indeks Total per Kabupaten/Kota Tahun {year}",
            xlabel=axis,
        ),
        f"profil-dimensi-{year}": charts.profile_charts(
            names,
            [d.name for d in instrument.dimensions],
            [
                [float(r.dimension_scores.get(d.code, 0.0)) for d in instrument.dimensions]
                for r in ranked
            ],
            scale=scale,
            title=f"Profil Nilai per {instrument.dimension_label}",
            xlabel=axis,
        ),
    }
    saved = []
    for stem, pngs in pages.items():
        for n, png in enumerate(pngs, 1):
            path = folder / (f"{stem}.png" if len(pngs) == 1 else f"{stem}-{n}.png")
            write_atomic(path, png)
            saved.append(path)
    return saved


@instrumen_app.command("daftar")
def instrumen_daftar() -> None:
    """Tampilkan instrumen yang tersedia."""
    from assessment.instruments import InstrumentError, list_instruments

    try:
        instruments = list_instruments()
    except InstrumentError as exc:
        fail(str(exc))
    table = Table(title="Instrumen Penilaian")
    for column in ("Kode", "Nama", "Versi", "Dimensi", "Indikator", "Skala", "Keterangan"):
        table.add_column(column)
    for i in instruments:
        table.add_row(
            i.code,
            i.name,
            i.version,
            str(len(i.dimensions)),
            str(len(i.indicators)),
            i.scale_text,
            "contoh" if i.example else "",
        )
    console.print(table)


@instrumen_app.command("periksa")
def instrumen_periksa(berkas: Path = typer.Argument(..., help="Berkas YAML instrumen.")) -> None:
    """Periksa berkas instrumen: skema, kode ganda, dan jumlah bobot."""
    from assessment.instruments import InstrumentError, load_instrument

    try:
        inst = load_instrument(berkas)
    except InstrumentError as exc:
        fail(str(exc))
    console.print(
        f"Instrumen {inst.code} versi {inst.version} sah: {len(inst.dimensions)} dimensi, "
        f"{len(inst.indicators)} indikator, skala {inst.scale_text}."
    )


@kuesioner_app.command("buat")
def kuesioner_buat(
    siklus: int = typer.Option(..., "--siklus", help="Tahun siklus, mis. 2026."),
    wilayah: str = typer.Option(..., "--wilayah", help="Kode wilayah, mis. 64.72."),
    keluar: Path = typer.Option(..., "--keluar", help="Berkas .xlsx yang dibuat."),
) -> None:
    """Buat Lembar Kuesioner untuk satu wilayah (mis. untuk dikirim ulang)."""
    from assessment.workbook import build_questionnaire
    from models.db import session_scope
    from models.tables import Region

    url = ready_database()
    with session_scope(url) as session:
        cycle, instrument = _cycle_and_instrument(session, siklus)
        region = session.get(Region, wilayah)
        if region is None:
            fail(f"--wilayah: kode wilayah {wilayah} tidak terdaftar")
        path = build_questionnaire(
            instrument,
            cycle_year=cycle.year,
            cycle_id=cycle.id,
            region_code=region.code,
            region_name=region.name,
            out_path=keluar,
        )
    console.print(f"Lembar Kuesioner {region.name} disimpan: {path}")


@kuesioner_app.command("periksa")
def kuesioner_periksa(
    berkas: Path = typer.Argument(..., help="Berkas jawaban (.xlsx)."),
    siklus: int = typer.Option(..., "--siklus", help="Tahun siklus, mis. 2026."),
    wilayah: str = typer.Option(..., "--wilayah", help="Kode wilayah, mis. 64.72."),
) -> None:
    """Periksa berkas jawaban kuesioner tanpa menyimpannya; semua kesalahan ditampilkan."""
    from assessment.answers import AnswerValidationError, parse_workbook
    from models.db import session_scope

    url = ready_database()
    with session_scope(url) as session:
        cycle, instrument = _cycle_and_instrument(session, siklus)
    try:
        payload = parse_workbook(berkas, instrument, cycle_id=cycle.id, region_code=wilayah)
    except AnswerValidationError as exc:
        fail(str(exc))
    console.print(f"Jawaban sah: {len(payload.answers)} indikator terisi lengkap.")


def register(app: typer.Typer) -> None:
    app.command("hasil")(hasil)
    app.add_typer(instrumen_app, name="instrumen")
    app.add_typer(kuesioner_app, name="kuesioner")
