"""Email replies resume a real region flow: a served product on a real Prefect server, the
SMTP sink, and the inbox reading replies the simulated PIC and assessors write to the emails
they received (slow: CI runs it)."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from sqlmodel import select

from inbox.compose import drop_into_maildir, reply_to
from inbox.reader import read_once
from inbox.settings import inbox_maildir
from models.db import session_scope
from models.tables import (
    AnswerSet,
    Assessor,
    Assignment,
    Confirmation,
    Dispatch,
    InboundMessage,
    Region,
)
from tests.flow_helpers import ServedProduct, flow_state, open_wait, wait_until

pytestmark = pytest.mark.slow
REGION = "64.72"


@pytest.fixture
def product(prefect_server, isolated_settings, monkeypatch, tmp_path):
    from mail.sink import start_sink
    from models.db import migrate
    from models.settings import reset_settings

    sink = start_sink(tmp_path / "mail", port=0)
    monkeypatch.setenv("PEMANTIK_SMTP__PORT", str(sink.port))
    monkeypatch.setenv("PEMANTIK_SMTP__RETRY_BASE_SECONDS", "0.2")
    monkeypatch.setenv("PEMANTIK_INBOX_RESUME_TIMEOUT_SECONDS", "90")
    reset_settings()
    migrate()
    with ServedProduct() as served:
        yield {"sink": sink, "served": served}
    sink.stop()


def _received(sink, kind: str, to: str):
    """The email of ``kind`` sent to ``to`` (To or Cc), as found in the sink's Maildir."""
    with session_scope() as s:
        rows = s.exec(
            select(Dispatch.message_id, Dispatch.recipient, Dispatch.cc).where(
                Dispatch.kind == kind
            )
        ).all()
    mids = [mid for mid, recipient, cc in rows if to == recipient or to in (cc or [])]
    for msg in sink.messages():
        if msg["Message-ID"] in mids:
            return msg
    return None


def _fill(data: bytes, level: int = 3) -> bytes:
    from assessment.workbook import META_SHEET

    wb = openpyxl.load_workbook(io.BytesIO(data))
    from assessment.workbook import fill_identity

    fill_identity(wb)
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    for code, (sheet, row) in json.loads(meta["layout"]).items():
        wb[sheet].cell(row=row, column=4, value=level)
        wb[sheet].cell(row=row, column=5, value=f"https://bukti.example/{code}")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_replies_resume_the_region_flow(product) -> None:
    from prefect.deployments import run_deployment

    sink = product["sink"]
    run_deployment(
        "siklus-pemantik/siklus",
        parameters={
            "year": 2026,
            "regions": [REGION],
            "start_date": "2026-07-01",
            "session_date": "2026-07-22",
        },
        timeout=0,
    )
    wait = wait_until(lambda: open_wait(REGION, "jawaban"), 180)
    with session_scope() as s:
        pic = s.get(Region, REGION).pic_email
    letter = wait_until(lambda: _received(sink, "pemberitahuan", pic), 60)
    [questionnaire] = [a for a in letter.iter_attachments() if a.get_filename().endswith(".xlsx")]
    filled = _fill(questionnaire.get_payload(decode=True))
    drop_into_maildir(
        inbox_maildir(),
        reply_to(letter, pic, "Terlampir jawaban kami.\nDITERIMA", [("jawaban.xlsx", filled)]),
    )

    report = read_once()

    assert report.counts() == {"processed": 1}, [o.action for o in report.outcomes]
    assert "alur dilanjutkan" in report.outcomes[0].action
    with session_scope() as s:
        assert [a.source for a in s.exec(select(AnswerSet))] == ["email"]
    # The flow went on: a receipt (tanda terima) and then the invitation and request letters.
    wait_until(lambda: open_wait(REGION, "konfirmasi"), 240)
    assert flow_state(wait.flow_run_id) != "Failed"

    invitation = wait_until(lambda: _received(sink, "undangan", pic), 60)
    with session_scope() as s:
        assessors = [
            s.get(Assessor, a.assessor_id).email
            for a in s.exec(select(Assignment).where(Assignment.region_code == REGION))
        ]
    drop_into_maildir(
        inbox_maildir(), reply_to(invitation, pic, "HADIR\nDelegasi: Sari Dewi | Kepala Bidang")
    )
    for email in assessors:
        request = wait_until(lambda e=email: _received(sink, "permohonan", e), 60)
        drop_into_maildir(
            inbox_maildir(),
            reply_to(request, email, "BERSEDIA\nPernyataan: Tidak ada benturan kepentingan."),
        )

    report = read_once()

    assert report.counts() == {"processed": 1 + len(assessors)}, [o.action for o in report.outcomes]
    assert any("alur dilanjutkan" in o.action for o in report.outcomes)
    wait_until(lambda: open_wait(REGION, "kehadiran"), 240)
    with session_scope() as s:
        assert s.exec(select(Confirmation)).one().attend
        states = {a.state for a in s.exec(select(Assignment))}
        assert states == {"accepted"}
        assert all(r.state == "processed" for r in s.exec(select(InboundMessage)))
