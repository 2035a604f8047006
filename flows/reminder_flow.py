"""The daily reminder deployment and the admin's extension form (Prefect layer only).

All logic lives in :mod:`reminders`; these flows pick the WITA date, call it, and publish the
status grid of every cycle still running as a table artifact (key ``status-siklus-<year>``).
"""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.schedules import Cron
from pydantic import Field
from sqlmodel import select

from models import clock
from models.db import session_scope
from models.settings import get_settings
from models.tables import Cycle, CycleState


@task(name="Kirim pengingat dan eskalasi")
def send_reminders(today: date) -> dict:
    from reminders.service import run_reminders

    report = run_reminders(None, today)
    logger = get_run_logger()
    logger.info(report.summary())
    for line in report.warnings:
        logger.warning(line)
    for line in report.errors:
        logger.error(line)
    return {
        "ringkasan": report.summary(),
        "diantrekan": len(report.queued),
        "sudah_diantrekan": report.already_queued,
        "lewat_tenggat": report.overdue,
        "surat_pengingat": report.letters,
        "ditolak": report.errors,
    }


@task(name="Terbitkan status siklus")
def publish_status_grids(today: date) -> list[str]:
    """One table artifact per cycle still running; returns the artifact keys."""
    from reminders.grid_export import grid_title
    from reminders.status import STATUS_LABELS, status_grid

    keys = []
    with session_scope() as session:
        years = sorted(
            set(
                session.exec(
                    select(Cycle.year).where(
                        Cycle.state.in_([CycleState.RUNNING.value, CycleState.CLOSING.value])
                    )
                )
            )
        )
        grids = [status_grid(session, year, today=today) for year in years]
    legend = "; ".join(f"{label}" for label in STATUS_LABELS.values())
    for grid in grids:
        key = f"status-siklus-{grid.year}"
        counts = grid.counts()
        create_table_artifact(
            table=grid.as_records(),
            key=key,
            description=(
                f"**{grid_title(grid)}** — "
                + ", ".join(f"{status.value}: {n}" for status, n in counts.items())
                + f". Keterangan sel: {legend}; hk = hari kerja."
            ),
        )
        keys.append(key)
    return keys


@flow(name="pengingat-harian", log_prints=True)
def reminder_flow(tanggal: date | None = None) -> dict:
    """Pengingat harian: kirim pengingat dan eskalasi sesuai tangga eskalasi, lalu perbarui
    status siklus. ``tanggal`` kosong berarti hari ini (WITA)."""
    today = tanggal or clock.today()
    result = send_reminders(today)
    result["artefak"] = publish_status_grids(today)
    return result


def reminder_deployment():  # noqa: ANN201 - a prefect RunnerDeployment
    """The daily deployment on the configured cron, in the configured time zone (WITA)."""
    settings = get_settings()
    return reminder_flow.to_deployment(
        name="pengingat-harian",
        schedules=[Cron(settings.reminder_cron, timezone=settings.timezone)],
    )


@flow(name="perpanjang-tenggat")
def extension_flow(
    siklus: int = Field(..., description="Tahun siklus, mis. 2026."),
    wilayah: str = Field(..., description="Kode wilayah, mis. 64.72 (Kota Samarinda)."),
    langkah: int = Field(..., description="Nomor langkah SOP (1–14) yang diperpanjang."),
    alasan: str = Field(..., description="Alasan perpanjangan (wajib)."),
    tambahan_hari_kerja: int = Field(
        0, description="Tambahan hari kerja setelah tenggat sekarang; isi ini ATAU tanggal_baru."
    ),
    tanggal_baru: date | None = Field(None, description="Tenggat baru (hari kerja)."),
    email_asesor: str = Field(
        "", description="Email asesor; kosongkan bila yang diperpanjang penantian wilayah."
    ),
    pemberi: str = Field("admin", description="Nama pemberi perpanjangan."),
    beritahu: bool = Field(True, description="Kirim surel tenggat baru ke PIC/asesor (Cc admin)."),
) -> dict:
    """Formulir perpanjangan tenggat (Custom run di UI Prefect): memindahkan tenggat penantian
    yang terbuka; pengingat berikutnya mengikuti tanggal baru."""
    from mail.outbox import deliver_pending_sync
    from reminders.extensions import grant_extension, notify_extension
    from services.context import cycle_by_year, get_assessor_by_email

    with session_scope() as session:
        cycle = cycle_by_year(session, siklus)
        assessor_id = None
        if email_asesor.strip():
            assessor_id = get_assessor_by_email(session, email_asesor).id
        ext = grant_extension(
            session,
            cycle_id=cycle.id,
            region_code=wilayah.strip(),
            step_no=langkah,
            new_due=tanggal_baru,
            extra_days=tambahan_hari_kerja or None,
            reason=alasan,
            granted_by=pemberi,
            assessor_id=assessor_id,
        )
        result = {"lama": ext.old_due.isoformat(), "baru": ext.new_due.isoformat()}
        key = notify_extension(session, ext) if beritahu else None
    if key:
        delivery = deliver_pending_sync(keys=[key])
        result["pemberitahuan"] = delivery.summary()
    create_markdown_artifact(
        markdown=(
            f"Tenggat langkah {langkah} untuk {wilayah} (siklus {siklus}) diperpanjang dari "
            f"{result['lama']} menjadi **{result['baru']}**.\n\nAlasan: {alasan}"
        ),
        key=f"perpanjangan-{siklus}",
    )
    return result


def extension_deployment():  # noqa: ANN201 - a prefect RunnerDeployment
    """The admin's extension form as a deployment (run it with "Custom run" in the UI)."""
    return extension_flow.to_deployment(name="perpanjang-tenggat")
