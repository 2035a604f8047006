"""The mailbox reader deployment (Prefect layer only): one reading pass per run.

All logic lives in :mod:`inbox`; the flow runs :func:`inbox.reader.read_once` and logs its
summary (and every message that failed, which is kept and retried on the next run).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task


@task(name="Baca kotak masuk dan tindak lanjuti balasan")
def read_mailbox() -> dict:
    from inbox.reader import read_once

    report = read_once()
    logger = get_run_logger()
    logger.info(report.summary())
    for line in report.errors:
        logger.error(line)
    if report.source_error:
        # The stored messages were handled; the run still fails so the admin sees it.
        raise RuntimeError(f"Kotak surel tidak dapat dibaca: {report.source_error}")
    return {
        "ringkasan": report.summary(),
        "dibaca": report.fetched,
        "baru": report.new,
        "status": report.counts(),
        "galat": report.errors,
    }


@flow(name="kotak-masuk", log_prints=True)
def inbox_flow() -> dict:
    """Kotak masuk: baca surel balasan (IMAP atau Maildir), cocokkan dengan surat PeManTIK,
    lalu teruskan ke penantian yang sesuai; balasan otomatis dan notifikasi admin dikirim."""
    return read_mailbox()


def inbox_deployment():  # noqa: ANN201 - a prefect RunnerDeployment
    """Every ``PEMANTIK_INBOX_INTERVAL_MINUTES`` minutes (default 5)."""
    from inbox.settings import load_inbox_settings

    minutes = load_inbox_settings().interval_minutes
    return inbox_flow.to_deployment(name="kotak-masuk", interval=minutes * 60)
