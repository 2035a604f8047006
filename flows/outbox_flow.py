"""The outbox's retries. A step sends its own messages at once; whatever could not go out then
(SMTP down, a 4xx, a deliverer that died mid-send) is retried later with the outbox's backoff,
so nothing queued is ever left behind.

Under ``pemantik serve`` the retries run inside the serving process every
``PEMANTIK_OUTBOX_INTERVAL_SECONDS`` (:func:`retry_outbox`, no flow run). The ``kirim-surel``
deployment runs the same pass a few times a working day (``PEMANTIK_OUTBOX_CRON``), for
process workers that have no serving process, and from the UI on demand.
"""

from __future__ import annotations

import logging

from prefect import flow, get_run_logger
from prefect.schedules import Cron

from models.settings import get_settings

log = logging.getLogger("pemantik.outbox")


def retry_outbox() -> dict:
    """One pass over the outbox: send what is due; returns the counts."""
    from mail.outbox import deliver_pending_sync

    report = deliver_pending_sync()
    counts = {
        "terkirim": len(report.sent),
        "diulang": len(report.retrying),
        "gagal": len(report.failed),
    }
    if any(counts.values()):
        log.info(report.summary())
    return counts


@flow(name="kirim-surel")
def outbox_flow() -> dict:
    """Kirim semua surel yang masih menunggu di antrean keluar (outbox)."""
    counts = retry_outbox()
    get_run_logger().info(
        "Antrean keluar: %(terkirim)s terkirim, %(diulang)s diulang, %(gagal)s gagal", counts
    )
    return counts


def outbox_deployment():  # noqa: ANN201 - a prefect RunnerDeployment
    settings = get_settings()
    return outbox_flow.to_deployment(
        name="antrean",
        schedules=[Cron(settings.outbox_cron, timezone=settings.timezone)],
        tags=["pemantik"],
    )
