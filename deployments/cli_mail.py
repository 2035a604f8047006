"""CLI for email: ``pemantik smtp-sink``, ``pemantik resi`` and ``pemantik kirim-surel``."""

from __future__ import annotations

import csv
from pathlib import Path

import typer
from rich.table import Table

from deployments.cli_common import console, fail, ready_database
from letters.formats import timestamp

STATE_LABELS = {
    "queued": "antre",
    "sending": "sedang dikirim",
    "sent": "terkirim",
    "failed": "gagal",
}
CSV_COLUMNS = [
    "siklus",
    "wilayah",
    "asesor_id",
    "penerima",
    "nama_penerima",
    "dokumen",
    "subjek",
    "message_id",
    "waktu",
    "status",
    "percobaan",
    "kode_smtp",
    "balasan_smtp",
    "galat",
    "lampiran_sha256",
]


def register(app: typer.Typer) -> None:
    app.command("smtp-sink")(smtp_sink)
    app.command("resi")(resi)
    app.command("kirim-surel")(kirim_surel)


def smtp_sink(
    maildir: Path = typer.Option(..., "--maildir", help="Folder Maildir tempat pesan disimpan."),
    port: int = typer.Option(8025, "--port", help="Port SMTP yang didengarkan."),
    host: str = typer.Option("127.0.0.1", "--host", help="Alamat yang didengarkan."),
    tolak: list[str] = typer.Option(
        [], "--tolak", help="Alamat penerima yang dijawab 550 (untuk uji coba); boleh berulang."
    ),
    cepat: bool = typer.Option(
        False,
        "--cepat",
        help="Mode cepat untuk tolok ukur: protokol minimal tanpa TLS/AUTH, penyimpanan sama.",
    ),
) -> None:
    """Jalankan server SMTP lokal (aiosmtpd) yang menyimpan setiap pesan ke Maildir."""
    import logging

    from mail.sink import run_sink

    if not 0 < port < 65536:
        fail(f"--port: {port} bukan nomor port yang sah (1–65535)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    def ready(handle) -> None:  # noqa: ANN001
        console.print(
            f"Server SMTP PeManTIK mendengarkan di {handle.host}:{handle.port}; pesan disimpan di "
            f"{handle.maildir} (Maildir). Tekan Ctrl+C untuk berhenti.",
            highlight=False,
        )

    try:
        if cepat:
            from mail.fastsink import run_fast_sink

            run_fast_sink(maildir, host, port, reject=tolak, on_ready=ready)
        else:
            run_sink(maildir, host, port, reject=tolak, on_ready=ready)
    except OSError as exc:
        fail(f"server SMTP tidak dapat dijalankan di {host}:{port}: {exc.strerror or exc}")


def resi(
    siklus: int = typer.Option(..., "--siklus", help="Tahun siklus, mis. 2026."),
    csv_file: Path = typer.Option(None, "--csv", help="Simpan juga daftar resi ke berkas CSV."),
) -> None:
    """Daftar resi surel (tanda bukti pengiriman) semua surel siklus pada tahun tersebut."""
    from sqlmodel import select

    from models.db import session_scope
    from models.tables import Cycle, Dispatch

    if csv_file is not None and csv_file.suffix.lower() != ".csv":
        fail(f"--csv: berkas keluaran harus berakhiran .csv, bukan '{csv_file.name}'")
    url = ready_database()
    with session_scope(url) as session:
        cycles = session.exec(select(Cycle).where(Cycle.year == siklus)).all()
        if not cycles:
            fail(f"--siklus: tidak ada siklus tahun {siklus}")
        rows = session.exec(
            select(Dispatch, Cycle)
            .join(Cycle, Dispatch.cycle_id == Cycle.id)
            .where(Cycle.year == siklus)
            .order_by(Dispatch.id)
        ).all()
        records = [
            {
                "siklus": cycle.name or str(cycle.year),
                "wilayah": d.region_code or "",
                "asesor_id": d.assessor_id or "",
                "penerima": d.recipient,
                "nama_penerima": d.recipient_name,
                "dokumen": d.kind,
                "subjek": d.subject,
                "message_id": d.message_id,
                "waktu": timestamp(d.sent_at or d.created_at, seconds=True),
                "status": STATE_LABELS.get(d.state, d.state),
                "percobaan": d.attempts,
                "kode_smtp": d.smtp_code or "",
                "balasan_smtp": d.smtp_reply,
                "galat": d.error,
                "lampiran_sha256": " ".join(
                    f"{a['filename']}={a['sha256']}" for a in d.attachments or []
                ),
            }
            for d, cycle in rows
        ]
    table = Table(title=f"Resi Surel Siklus {siklus}")
    for column in (
        "Penerima",
        "Dokumen",
        "Message-ID",
        "Waktu",
        "Status",
        "Percobaan",
        "Balasan SMTP",
    ):
        table.add_column(column, overflow="fold")
    for r in records:
        reply = f"{r['kode_smtp']} {r['balasan_smtp']}".strip()
        if r["galat"] and r["status"] != "terkirim":
            reply = f"{reply} ({r['galat']})".strip()
        table.add_row(
            r["penerima"],
            r["dokumen"],
            r["message_id"],
            r["waktu"],
            r["status"],
            str(r["percobaan"]),
            reply,
        )
    console.print(table)
    sent = sum(r["status"] == "terkirim" for r in records)
    console.print(f"{len(records)} surel, {sent} terkirim.")
    if csv_file is not None:
        try:
            with csv_file.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
                writer.writeheader()
                writer.writerows(records)
        except OSError as exc:
            fail(f"--csv: berkas {csv_file} tidak dapat ditulis: {exc.strerror}")
        console.print(f"Resi disimpan ke {csv_file}.")


def kirim_surel() -> None:
    """Kirim semua surel yang menunggu di antrean keluar (outbox) dan tampilkan ringkasannya."""
    from mail.outbox import deliver_pending_sync

    url = ready_database()
    report = deliver_pending_sync(url)
    for outcome in report.failed:
        console.print(f"[red]Gagal[/]: {outcome.recipient} ({outcome.kind}): {outcome.error}")
    for outcome in report.retrying:
        console.print(
            f"[yellow]Dijadwalkan ulang[/]: {outcome.recipient} ({outcome.kind}): {outcome.error}"
        )
    console.print(f"Pengiriman selesai: {report.summary()}.")
