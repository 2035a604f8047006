"""The daily reminder deployment and the admin's extension form (Prefect layer only).

All logic lives in :mod:`reminders`; these flows pick the WITA date, call it, and publish the
status grid of every cycle still running as a table artifact (key ``status-siklus-<year>``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.schedules import Cron
from sqlmodel import select

from flows.admin import label, refused_as_failed
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
    wilayah: str = label(
        ..., "Kode wilayah", description="Kode Kemendagri, mis. 64.72 (Kota Samarinda)."
    ),
    langkah: int = label(..., "Langkah SOP", description="Nomor langkah (1–14) yang ditunggu."),
    alasan: str = label(..., "Alasan perpanjangan", description="Wajib diisi."),
    tambahan_hari_kerja: int = label(
        5,
        "Tambahan hari kerja",
        description="Dihitung dari tenggat sekarang; diabaikan bila tenggat baru diisi.",
    ),
    tanggal_baru: date | None = label(
        None, "Tenggat baru (bila tidak memakai tambahan hari kerja)"
    ),
    email_asesor: str = label(
        "",
        "Email asesor",
        description="Kosongkan bila yang diperpanjang penantian Kab/Kota.",
    ),
    pemberi: str = label("admin", "Nama pemberi perpanjangan"),
    beritahu: bool = label(True, "Kirim surel tenggat baru ke PIC/asesor (Cc admin)"),
    siklus: int = label(clock.today().year, "Tahun siklus"),
) -> Any:
    """Formulir perpanjangan tenggat (Custom run di UI Prefect): memindahkan tenggat penantian
    yang terbuka; pengingat berikutnya mengikuti tanggal baru."""
    from reminders.extensions import ExtensionError

    return refused_as_failed(
        "Perpanjangan tenggat",
        lambda: extend(
            siklus,
            wilayah,
            langkah,
            alasan,
            tambahan_hari_kerja,
            tanggal_baru,
            email_asesor,
            pemberi,
            beritahu,
        ),  # fmt: skip
        ExtensionError,
    )


def extend(
    siklus: int,
    wilayah: str,
    langkah: int,
    alasan: str,
    tambahan_hari_kerja: int,
    tanggal_baru: date | None,
    email_asesor: str,
    pemberi: str,
    beritahu: bool,
) -> dict:
    """The extension form's work (see :func:`extension_flow`)."""
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
            extra_days=None if tanggal_baru else tambahan_hari_kerja,
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
