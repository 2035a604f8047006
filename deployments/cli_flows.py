"""CLI doors to the waiting flows, plus ``serve`` and ``demo``.

Every answer command hands its input to ``services.waits.submit`` — the same validation the
Prefect UI form and email replies get — and prints either what was stored (and whether the
region's run was resumed) or every reason the input was refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from deployments.cli_common import YEAR_HELP, console, fail, ready_database

jawaban_app = typer.Typer(help="Jawaban kuesioner Kab/Kota.", no_args_is_help=True)


def _submit(kind: str, year: int | None, region: str, payload: dict[str, Any], who: str) -> None:
    from services.context import NotFound
    from services.cycle import current_cycle_year
    from services.waits import InputRefused, NotWaiting, submit

    ready_database()
    year = year or current_cycle_year()
    try:
        outcome = submit(kind, year=year, region=region, payload=payload, via="cli", who=who)
    except (NotWaiting, NotFound) as exc:
        fail(str(exc))
    except InputRefused as exc:
        fail("masukan ditolak, tidak ada yang disimpan:\n  - " + "\n  - ".join(exc.errors))
    console.print(f"Diterima: {outcome.summary or 'tidak ada perubahan'}.")
    if outcome.complete:
        state = "dilanjutkan" if outcome.resumed else "akan dilanjutkan saat run siap"
        console.print(f"Tahap ini lengkap; alur wilayah {region} {state}.")
    else:
        console.print("Masih ditunggu: " + "; ".join(outcome.missing))


def _people(values: list[str], option: str) -> list[dict[str, str]]:
    people = []
    for value in values:
        parts = [p.strip() for p in value.split("|")]
        if not parts[0]:
            fail(f"{option}: nama wajib diisi ('{value}')")
        people.append(
            {
                "nama": parts[0],
                "jabatan": parts[1] if len(parts) > 1 else "",
                "instansi": parts[2] if len(parts) > 2 else "",
            }
        )
    return people


def _read_scores(path: Path) -> dict[str, dict[str, Any]]:
    """Scores from JSON ({kode: {level, note}}) or CSV (kode,tingkat,catatan): the same parser
    the mailbox reader uses for an assessor's attachment."""
    from inbox.replies import ScoresFileError, parse_scores

    if not path.is_file():
        fail(f"berkas {path} tidak ditemukan")
    try:
        return parse_scores(path.name, path.read_bytes())
    except ScoresFileError as exc:
        fail("berkas nilai ditolak:\n  - " + "\n  - ".join(exc.errors))
    return {}


@jawaban_app.command("impor")
def jawaban_impor(
    berkas: Path = typer.Argument(..., help="Lembar Kuesioner yang sudah diisi (.xlsx)."),
    wilayah: str = typer.Option(..., "--wilayah", help="Kode wilayah, mis. 64.72."),
    siklus: int | None = typer.Option(None, "--siklus", help=YEAR_HELP),
    oleh: str = typer.Option("admin (CLI)", "--oleh", help="Nama pengirim jawaban."),
) -> None:
    """Impor jawaban kuesioner sebuah Kab/Kota dan lanjutkan alurnya bila lengkap."""
    if not berkas.is_file():
        fail(f"berkas {berkas} tidak ditemukan")
    _submit("jawaban", siklus, wilayah, {"berkas": str(berkas.resolve())}, oleh)


def register(app: typer.Typer) -> None:
    app.add_typer(jawaban_app, name="jawaban")

    @app.command("konfirmasi")
    def konfirmasi(
        wilayah: str = typer.Option(..., "--wilayah", help="Kode wilayah."),
        pihak: str = typer.Option("wilayah", "--pihak", help="'wilayah' atau email asesor."),
        jawaban: str = typer.Option(..., "--jawaban", help="ya / tidak (hadir/bersedia)."),
        delegasi: list[str] = typer.Option(
            [], "--delegasi", help="'Nama|Jabatan' (boleh berulang)."
        ),
        pernyataan: str = typer.Option(
            "", "--pernyataan", help="Pernyataan benturan kepentingan (asesor)."
        ),
        alasan: str = typer.Option("", "--alasan", help="Alasan bila tidak."),
        siklus: int | None = typer.Option(None, "--siklus", help=YEAR_HELP),
    ) -> None:
        """Catat konfirmasi kehadiran Kab/Kota atau kesediaan asesor (langkah 8)."""
        _submit(
            "konfirmasi",
            siklus,
            wilayah,
            {
                "pihak": pihak,
                "jawaban": jawaban,
                "delegasi": _people(delegasi, "--delegasi"),
                "pernyataan_benturan_kepentingan": pernyataan,
                "alasan": alasan,
            },
            pihak,
        )

    @app.command("kehadiran")
    def kehadiran(
        wilayah: str = typer.Option(..., "--wilayah", help="Kode wilayah."),
        peserta: list[str] = typer.Option(
            ..., "--peserta", help="'Nama|Jabatan|Instansi' (berulang)."
        ),
        siklus: int | None = typer.Option(None, "--siklus", help=YEAR_HELP),
    ) -> None:
        """Catat daftar hadir pelaksanaan penilaian (langkah 10)."""
        _submit(
            "kehadiran", siklus, wilayah, {"peserta": _people(peserta, "--peserta")}, "admin (CLI)"
        )

    @app.command("nilai")
    def nilai(
        berkas: Path = typer.Argument(
            ..., help="Nilai asesor: .json {kode: {level, note}} atau .csv kode,tingkat,catatan."
        ),
        wilayah: str = typer.Option(..., "--wilayah", help="Kode wilayah."),
        asesor: str = typer.Option(..., "--asesor", help="Email asesor."),
        siklus: int | None = typer.Option(None, "--siklus", help=YEAR_HELP),
    ) -> None:
        """Catat nilai terverifikasi seorang asesor (langkah 11–12)."""
        _submit("nilai", siklus, wilayah, {"asesor": asesor, "data": _read_scores(berkas)}, asesor)

    @app.command("terima-hasil")
    def terima_hasil(
        wilayah: str = typer.Option(..., "--wilayah", help="Kode wilayah."),
        keputusan: str = typer.Option("terima", "--keputusan", help="terima / kembalikan."),
        catatan: str = typer.Option("", "--catatan", help="Catatan (wajib bila dikembalikan)."),
        konsensus: list[str] = typer.Option(
            [], "--konsensus", help="'KODE=TINGKAT|catatan' (berulang)."
        ),
        siklus: int | None = typer.Option(None, "--siklus", help=YEAR_HELP),
    ) -> None:
        """Terima (dan kunci) atau kembalikan hasil akhir sebuah wilayah (langkah 13)."""
        items = []
        for value in konsensus:
            head, _, note = value.partition("|")
            code, _, level = head.partition("=")
            if not code.strip() or not level.strip().isdigit():
                fail(f"--konsensus: '{value}' harus berbentuk KODE=TINGKAT|catatan")
            items.append({"kode": code.strip(), "tingkat": int(level), "catatan": note.strip()})
        _submit(
            "penerimaan",
            siklus,
            wilayah,
            {"keputusan": keputusan, "catatan": catatan, "konsensus": items},
            "admin (CLI)",
        )

    @app.command("tunggu")
    def tunggu(siklus: int | None = typer.Option(None, "--siklus", help=YEAR_HELP)) -> None:
        """Daftar penantian yang masih terbuka (siapa ditunggu, untuk apa, tenggatnya)."""
        from models.db import session_scope
        from models.lookups import open_waits
        from models.tables import Region
        from services.context import NotFound, cycle_by_year
        from services.waits import stage

        labels = {"wilayah": "Kab/Kota", "admin": "admin"}
        from services.cycle import current_cycle_year

        url = ready_database()
        siklus = siklus or current_cycle_year()
        table = Table(title=f"Penantian terbuka siklus {siklus}")
        for column in ("Wilayah", "Menunggu", "Yang masih ditunggu", "Tenggat", "Diperpanjang"):
            table.add_column(column)
        with session_scope(url) as session:
            try:
                cycle = cycle_by_year(session, siklus)
            except NotFound as exc:
                fail(str(exc))
            rows = sorted(open_waits(session, cycle.id), key=lambda w: w.due_date)
            for w in rows:
                owing = stage(w.kind).owes(session, cycle.id, w.region_code)
                table.add_row(
                    session.get(Region, w.region_code).name,
                    stage(w.kind).title,
                    ", ".join(p.name or labels.get(p.role, p.role) for p in owing),
                    w.due_date.isoformat(),
                    "ya" if w.extended else "",
                )
        console.print(table)

    @app.command("serve")
    def serve(
        interval: float = typer.Option(
            1.0, "--interval", help="Detik antar-pemeriksaan run terjadwal."
        ),
        batas: int = typer.Option(32, "--batas", help="Jumlah run bersamaan paling banyak."),
        portal: bool = typer.Option(
            False,
            "--portal",
            help="Jalankan juga portal di proses ini (alamat dan port dari pengaturan portal).",
        ),
        pelaksana: str = typer.Option(
            "dalam-proses",
            "--pelaksana",
            help="dalam-proses (satu proses, bawaan) atau prefect (Runner Prefect: satu proses per run).",
        ),
    ) -> None:
        """Layani semua deployment (siklus, wilayah, pengingat, aksi admin) dari satu proses."""
        import os

        from deployments.serve import prefect_environment

        for key, value in prefect_environment().items():
            os.environ.setdefault(key, value)
        ready_database()
        if pelaksana == "prefect":
            # Prefect's own Runner (a fresh interpreter per run and per resume): the baseline the
            # flows benchmark compares against. It handles its own signals.
            os.environ["PREFECT_RUNNER_POLL_FREQUENCY"] = str(max(1, round(interval)))
            from prefect import serve as prefect_serve

            from deployments.serve import deployment_pairs

            prefect_serve(*[d for _, d in deployment_pairs()], limit=batas)
            return
        if pelaksana != "dalam-proses":
            fail(f"--pelaksana: '{pelaksana}' tidak dikenal (dalam-proses atau prefect)")
        import signal
        import threading

        from deployments.serve import serve_all

        stop = threading.Event()
        # SIGTERM/Ctrl+C: take no new runs, let the running ones reach their next wait or end.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        web = None
        if portal:
            from models.settings import get_settings
            from portal.server import PortalThread

            settings = get_settings()
            try:
                web = PortalThread(settings.portal.port, settings.portal.host).start()
            except RuntimeError as exc:
                fail(f"{exc}; port itu mungkin sudah dipakai (ubah PEMANTIK_PORTAL__PORT).")
            console.print(
                f"Portal PeManTIK berjalan di {web.url} (alamat publik: {settings.portal_url})"
            )
        console.print("Melayani deployment PeManTIK. Tekan Ctrl+C untuk berhenti.")
        try:
            serve_all(poll_seconds=interval, limit=batas, stop=stop)
        finally:
            if web is not None:
                web.stop()
        console.print("Berhenti.")
        from deployments.runner import exit_within
        from models.settings import get_settings

        # The exit itself is bounded too (the progress grid's last write waits up to 10 s).
        exit_within(max(15.0, get_settings().runner.drain_seconds))

    @app.command("demo")
    def demo(
        keluar: Path = typer.Option(Path("demo-out"), "--keluar", help="Folder keluaran demo."),
        seed: int = typer.Option(2026, "--seed", help="Benih acak (hasil dapat diulang)."),
        tetap: bool = typer.Option(
            False,
            "--tetap",
            help="Biarkan server Prefect dan layanan tetap menyala setelah selesai.",
        ),
        wilayah: Path | None = typer.Option(
            None,
            "--wilayah",
            help="Berkas CSV wilayah (bawaan: 10 Kab/Kota Kalimantan Timur).",
        ),
        asesor: Path | None = typer.Option(
            None, "--asesor", help="Berkas CSV asesor (bawaan: contoh asesor)."
        ),
    ) -> None:
        """Jalankan satu siklus lengkap dengan petugas dan asesor simulasi (bawaan: Kaltim)."""
        from deployments.demo import run_demo

        raise typer.Exit(
            run_demo(
                keluar,
                seed,
                tetap,
                echo=console.print,
                regions_file=wilayah,
                assessors_file=asesor,
            )
        )
