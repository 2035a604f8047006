"""The outbox sweep: a step sends its own messages at once; whatever could not go out then
(SMTP down, a 4xx, a deliverer that died mid-send) is retried here, on an interval, with the
outbox's backoff — so nothing queued is ever left behind."""

from __future__ import annotations

from prefect import flow, get_run_logger

from models.settings import get_settings


@flow(name="kirim-surel")
def outbox_flow() -> dict:
    """Kirim semua surel yang masih menunggu di antrean keluar (outbox)."""
    from mail.outbox import deliver_pending_sync

    report = deliver_pending_sync()
    get_run_logger().info(report.summary())
    return {
        "terkirim": len(report.sent),
        "diulang": len(report.retrying),
        "gagal": len(report.failed),
    }


def outbox_deployment():  # noqa: ANN201 - a prefect RunnerDeployment
    return outbox_flow.to_deployment(
        name="antrean", interval=get_settings().outbox_interval_seconds, tags=["pemantik"]
    )
