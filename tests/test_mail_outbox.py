"""The outbox against a real aiosmtpd sink over loopback, on SQLite and PostgreSQL (no mocks)."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from mail.outbox import (
    FAILED_EVENT,
    NOTICE_KIND,
    OutboxError,
    claim_due_rows,
    deliver_pending,
    deliver_pending_sync,
    dispatch_key,
    enqueue,
    find_by_message_id,
    message_id_for,
    reference_token,
)
from mail.sink import start_sink
from models.db import get_engine, session_scope
from models.registry import ensure_reference_data
from models.settings import Settings, load_settings
from models.tables import Cycle, Dispatch, DispatchState, StepRecord


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mail_settings(port: int, **smtp: object) -> Settings:
    values = {"host": "127.0.0.1", "port": port, "retry_base_seconds": 0, **smtp}
    return load_settings(smtp=values)


@pytest.fixture
def db(db_url: str) -> str:
    with session_scope(db_url) as s:
        ensure_reference_data(s)
        s.add(Cycle(id=1, year=2026, instrument_code="spbe2020", start_date=date(2026, 7, 1)))
    return db_url


@pytest.fixture
def sink(tmp_path: Path):
    handle = start_sink(tmp_path / "maildir")
    yield handle
    handle.stop()


def files(tmp_path: Path) -> list[Path]:
    letter = tmp_path / "Surat Pemberitahuan.docx"
    letter.write_bytes(os.urandom(30_000))
    sheet = tmp_path / "Lembar Kuesioner.xlsx"
    sheet.write_bytes(os.urandom(50_000))
    pdf = tmp_path / "surat.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + os.urandom(5_000))
    return [letter, sheet, pdf]


def queue_one(
    url: str, settings: Settings, *, recipient: str = "pic@samarinda.go.id", **kw: object
) -> Dispatch:
    with session_scope(url) as s:
        return enqueue(
            s,
            key=kw.pop("key", dispatch_key(1, "64.72", "umum", recipient)),
            recipient=recipient,
            recipient_name=kw.pop("recipient_name", "PIC Kota Samarinda"),
            subject=kw.pop("subject", "Pemberitahuan uji"),
            template=kw.pop("template", "umum"),
            context=kw.pop("context", {"paragraf": ["Paragraf pertama.", "Paragraf kedua."]}),
            cycle_id=kw.pop("cycle_id", 1),
            region_code=kw.pop("region_code", "64.72"),
            settings=settings,
            **kw,
        )


def count_rows(url: str) -> int:
    with session_scope(url) as s:
        return s.exec(select(func.count()).select_from(Dispatch)).one()


def get_row(url: str, row_id: int) -> Dispatch:
    with session_scope(url) as s:
        return s.get(Dispatch, row_id)


def test_keys_tokens_and_message_ids() -> None:
    assert reference_token(2026, "64.72") == "[PEMANTIK-2026-64.72]"
    assert reference_token(2026, 7) == "[PEMANTIK-2026-A7]"
    key = dispatch_key(3, "64.72", "pemberitahuan", " PIC@Samarinda.go.id ")
    assert key == dispatch_key(3, "64.72", "pemberitahuan", "pic@samarinda.go.id")
    assert key != dispatch_key(3, "64.72", "pemberitahuan", "pic@samarinda.go.id", round=2)
    mid = message_id_for(key, "pemantik.example")
    assert mid == message_id_for(key, "pemantik.example")
    assert mid.startswith("<") and mid.endswith("@pemantik.example>")
    assert len(mid.split("@")[0]) == 33


def test_delivery_with_attachments_intact(db: str, sink, tmp_path: Path) -> None:
    settings = mail_settings(sink.port)
    attachments = files(tmp_path)
    row = queue_one(
        db,
        settings,
        template="questionnaire/pemberitahuan",
        kind="pemberitahuan",
        subject="Surat Pemberitahuan PeManTIK 2026",
        cc=["kadis@samarinda.go.id"],
        attachments=attachments,
        context={
            "year": 2026,
            "region_name": "Kota Samarinda",
            "letter": {"number": "005/12/Diskominfo/2026"},
            "deadline": date(2026, 7, 10),
        },
    )
    report = deliver_pending_sync(db, settings=settings)
    assert [o.id for o in report.sent] == [row.id]
    assert not report.failed and not report.retrying

    stored = get_row(db, row.id)
    assert stored.state == DispatchState.SENT
    assert stored.smtp_code == 250 and "disimpan" in stored.smtp_reply
    assert stored.sent_at is not None and stored.attempts == 1
    assert stored.subject.startswith("[PEMANTIK-2026-64.72] ")

    [msg] = sink.messages()
    assert msg["Message-ID"] == stored.message_id
    assert msg["Subject"] == stored.subject
    assert msg["Reply-To"] == str(settings.reply_to)
    assert settings.sender_name in msg["From"] and str(settings.sender) in msg["From"]
    assert msg["Cc"] == "kadis@samarinda.go.id"
    assert msg["Date"].endswith("+0800")  # WITA
    assert sorted(msg["X-Pemantik-Sink-To"].split(", ")) == [
        "kadis@samarinda.go.id",
        "pic@samarinda.go.id",
    ]
    parts = {p.get_content_type(): p for p in msg.walk()}
    assert "multipart/alternative" in parts and "text/html" in parts
    assert "10 Juli 2026" in parts["text/plain"].get_payload(decode=True).decode()

    got = {p.get_filename(): p for p in msg.walk() if p.get_filename()}
    assert set(got) == {p.name for p in attachments}
    assert (
        got["Lembar Kuesioner.xlsx"].get_content_type()
        == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert got["surat.pdf"].get_content_type() == "application/pdf"
    for item in stored.attachments:
        data = got[item["filename"]].get_payload(decode=True)
        assert hashlib.sha256(data).hexdigest() == item["sha256"]
        assert item["sha256"] == hashlib.sha256(Path(item["path"]).read_bytes()).hexdigest()


def test_enqueue_twice_same_key_one_row_one_message(db: str, sink) -> None:
    settings = mail_settings(sink.port)
    first = queue_one(db, settings)
    again = queue_one(db, settings, subject="Subjek lain, kunci sama")
    assert again.id == first.id and again.subject == first.subject
    assert count_rows(db) == 1

    report = deliver_pending_sync(db, settings=settings)
    assert len(report.sent) == 1
    # A re-run (a retried task, a resumed flow) finds nothing to send.
    rerun = deliver_pending_sync(db, settings=settings)
    assert rerun.attempted == 0
    queue_one(db, settings)  # enqueue after success is still a no-op
    assert deliver_pending_sync(db, settings=settings).attempted == 0
    assert len(sink.messages()) == 1
    assert get_row(db, first.id).attempts == 1


def test_concurrent_enqueue_same_key(db: str) -> None:
    settings = mail_settings(free_port())
    engine = get_engine(db)
    key = dispatch_key(1, "64.72", "umum", "pic@samarinda.go.id")
    with Session(engine) as a, Session(engine) as b:
        ra = enqueue(
            a,
            key=key,
            recipient="pic@samarinda.go.id",
            subject="A",
            template="umum",
            context={"paragraf": ["a"]},
            settings=settings,
        )
        a.commit()
        rb = enqueue(
            b,
            key=key,
            recipient="pic@samarinda.go.id",
            subject="B",
            template="umum",
            context={"paragraf": ["b"]},
            settings=settings,
        )
        b.commit()
        assert ra.id == rb.id
    assert count_rows(db) == 1


def test_server_down_then_up_delivered_once(db: str, tmp_path: Path) -> None:
    port = free_port()
    settings = mail_settings(port)
    rows = [queue_one(db, settings, recipient=f"pic{i}@samarinda.go.id") for i in range(5)]
    first, rest = rows[0], rows[1:]

    report = deliver_pending_sync(db, settings=settings)
    assert not report.sent and not report.failed
    # The first attempt finds the server down; the others are not charged an attempt.
    assert [o.id for o in report.retrying] == [first.id]
    assert sorted(report.deferred) == [r.id for r in rest]
    stored = get_row(db, first.id)
    assert stored.state == DispatchState.QUEUED and stored.attempts == 1
    assert "koneksi" in stored.error
    assert {get_row(db, r.id).attempts for r in rest} == {0}
    assert {get_row(db, r.id).state for r in rest} == {DispatchState.QUEUED}

    with start_sink(tmp_path / "maildir", port=port) as sink:
        report = deliver_pending_sync(db, settings=settings)
        assert sorted(o.id for o in report.sent) == [r.id for r in rows]
        assert deliver_pending_sync(db, settings=settings).attempted == 0
        got = sorted(m["To"].addresses[0].addr_spec for m in sink.messages())
        assert got == sorted(r.recipient for r in rows)
        assert sink.handler.duplicates == 0
    assert get_row(db, first.id).attempts == 2
    assert {get_row(db, r.id).attempts for r in rest} == {1}


def test_backoff_is_exponential(db: str) -> None:
    settings = mail_settings(free_port(), retry_base_seconds=60)
    row = queue_one(db, settings)
    before = datetime.now(UTC)
    deliver_pending_sync(db, settings=settings)
    stored = get_row(db, row.id)
    due = stored.next_attempt_at.replace(tzinfo=UTC)
    assert due >= before + timedelta(seconds=120)  # 60 × 2^1
    # Not yet due: a re-run leaves it alone.
    assert deliver_pending_sync(db, settings=settings).attempted == 0
    assert get_row(db, row.id).attempts == 1


def test_temporary_451_is_retried(db: str, tmp_path: Path) -> None:
    with start_sink(tmp_path / "maildir", temp_failures=1) as sink:
        settings = mail_settings(sink.port)
        row = queue_one(db, settings)
        report = deliver_pending_sync(db, settings=settings)
        assert [o.smtp_code for o in report.retrying] == [451]
        assert get_row(db, row.id).state == DispatchState.QUEUED
        report = deliver_pending_sync(db, settings=settings)
        assert [o.id for o in report.sent] == [row.id]
        assert len(sink.messages()) == 1


def test_gives_up_after_max_attempts(db: str, tmp_path: Path) -> None:
    with start_sink(tmp_path / "maildir", temp_failures=10) as sink:
        settings = mail_settings(sink.port, max_attempts=2)
        row = queue_one(db, settings)
        assert len(deliver_pending_sync(db, settings=settings).retrying) == 1
        report = deliver_pending_sync(db, settings=settings)
        assert [o.id for o in report.failed] == [row.id]
        stored = get_row(db, row.id)
        assert stored.state == DispatchState.FAILED and "2 percobaan" in stored.error
        # The admin notice went through once the sink stopped failing? No: still failing (451),
        # so the notice itself is queued for retry, never lost.
        assert len(report.notices) == 1


def test_550_marks_failed_and_tells_the_admin(db: str, tmp_path: Path) -> None:
    with start_sink(tmp_path / "maildir", reject={"salah@samarinda.go.id"}) as sink:
        settings = mail_settings(sink.port)
        row = queue_one(
            db, settings, recipient="salah@samarinda.go.id", kind="berita_acara", step_no=14
        )
        report = deliver_pending_sync(db, settings=settings)  # must not raise

        assert [o.id for o in report.failed] == [row.id]
        assert report.failed[0].smtp_code == 550
        stored = get_row(db, row.id)
        assert stored.state == DispatchState.FAILED and stored.smtp_code == 550
        assert "ditolak" in stored.error

        # The admin notice was queued and delivered in the same call.
        [notice] = sink.messages()
        assert str(settings.admin_email) in notice["To"]
        assert "gagal" in notice["Subject"]
        text = notice.get_body(("plain",)).get_content()
        assert "salah@samarinda.go.id" in text and "550" in text
        assert [o.kind for o in report.sent] == [NOTICE_KIND]

        with session_scope(db) as s:
            [record] = s.exec(select(StepRecord).where(StepRecord.event == FAILED_EVENT)).all()
            assert record.cycle_id == 1 and record.region_code == "64.72"
            # Filed under the step the caller named (a Berita Acara: step 14), never guessed
            # from the kind ("berita" is inside "pemberitahuan").
            assert record.step_no == 14
            assert record.detail["dispatch_id"] == row.id
            assert report.step_records == [record.id]


def test_no_notice_about_a_notice(db: str, tmp_path: Path) -> None:
    settings0 = mail_settings(free_port())
    admin = str(settings0.admin_email)
    with start_sink(tmp_path / "maildir", reject={"salah@samarinda.go.id", admin}) as sink:
        settings = mail_settings(sink.port)
        queue_one(db, settings, recipient="salah@samarinda.go.id")
        report = deliver_pending_sync(db, settings=settings)
        assert len(report.failed) == 2  # the message and its notice
        assert len(report.notices) == 1
        assert count_rows(db) == 2
        assert deliver_pending_sync(db, settings=settings).attempted == 0
        assert sink.messages() == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"recipient": "bukan-alamat"}, "bukan alamat surel yang sah"),
        ({"recipient": "pic@samarinda..go.id"}, "bukan alamat surel yang sah"),
        ({"cc": ["ok@samarinda.go.id", "x@"]}, "tembusan"),
        ({"subject": "Halo\r\nBcc: semua@contoh.id"}, "CR/LF"),
        ({"recipient_name": "PIC\nBcc: x@contoh.id"}, "CR/LF"),
        ({"recipient": "pic@samarinda.go.id\r\nBcc: x@contoh.id"}, "CR/LF"),
        ({"in_reply_to": "<a@b>\r\nX: y"}, "CR/LF"),
        ({"subject": "  "}, "subjek surel kosong"),
        ({"template": "tidak_ada"}, "tidak dikenal"),
        ({"template": "questionnaire/pemberitahuan", "context": {"year": 2026}}, "tidak lengkap"),
        ({"attachments": [Path("/tidak/ada.pdf")]}, "tidak ditemukan"),
        ({"region_code": "99.99"}, "tidak terdaftar"),
        ({"cycle_id": 999}, "siklus"),
    ],
)
def test_refused_before_queuing(db: str, change: dict, expected: str) -> None:
    settings = mail_settings(free_port())
    with pytest.raises(OutboxError, match=expected):
        queue_one(db, settings, **change)
    assert count_rows(db) == 0


def test_attachment_size_limit(db: str, tmp_path: Path) -> None:
    settings = mail_settings(free_port(), max_attachment_mb=0.05)  # 52 428 bytes
    small, big, _ = files(tmp_path)  # 30 000 + 50 000 bytes
    queue_one(db, settings, key="kecil", attachments=[small])
    with pytest.raises(OutboxError, match="melebihi batas 0.05 MB"):
        queue_one(db, settings, key="besar", attachments=[small, big])
    assert count_rows(db) == 1


def test_changed_attachment_is_not_sent(db: str, sink, tmp_path: Path) -> None:
    settings = mail_settings(sink.port)
    letter, _, _ = files(tmp_path)
    row = queue_one(db, settings, attachments=[letter])
    letter.write_bytes(b"isi lain")
    report = deliver_pending_sync(db, settings=settings)
    assert [o.id for o in report.failed] == [row.id]
    assert "berubah" in get_row(db, row.id).error
    assert all(str(settings.admin_email) in m["To"] for m in sink.messages())


def test_crash_between_accept_and_receipt_resends_same_message_id(db: str, sink) -> None:
    settings = mail_settings(sink.port)
    row = queue_one(db, settings)
    deliver_pending_sync(db, settings=settings)
    [first] = sink.messages()

    # Simulate the crash: the server has the message, but the receipt was never written and the
    # claim's lease has run out.
    engine = get_engine(db)
    with Session(engine) as s:
        r = s.get(Dispatch, row.id)
        r.state = DispatchState.SENDING
        r.sent_at = None
        r.smtp_code = None
        r.smtp_reply = ""
        r.next_attempt_at = datetime.now(UTC) - timedelta(minutes=30)
        s.add(r)
        s.commit()

    report = deliver_pending_sync(db, settings=settings)
    assert [o.id for o in report.sent] == [row.id]
    assert "duplikat" in report.sent[0].smtp_reply
    assert sink.handler.duplicates == 1
    [again] = sink.messages()  # stored once
    assert again["Message-ID"] == first["Message-ID"] == row.message_id
    stored = get_row(db, row.id)
    assert stored.state == DispatchState.SENT and stored.attempts == 2


def test_live_lease_is_not_taken_over(db: str, sink) -> None:
    settings = mail_settings(sink.port)
    row = queue_one(db, settings)
    engine = get_engine(db)
    lease = datetime.now(UTC) + timedelta(minutes=30)
    [claimed] = claim_due_rows(engine, [row.id], lease)
    assert claimed.state == DispatchState.SENDING and claimed.attempts == 1
    assert claim_due_rows(engine, [row.id], lease) == []  # a second claimer gets nothing
    assert deliver_pending_sync(db, settings=settings).attempted == 0
    assert sink.messages() == []


def test_two_deliverers_never_send_the_same_row(db: str, tmp_path: Path) -> None:
    with start_sink(tmp_path / "maildir") as sink:
        settings = mail_settings(sink.port, concurrency=3)
        with session_scope(db) as s:
            for i in range(30):
                enqueue(
                    s,
                    key=f"uji-{i}",
                    recipient=f"orang{i}@contoh.go.id",
                    subject=f"Pesan {i}",
                    template="umum",
                    context={"paragraf": [f"Isi {i}"]},
                    settings=settings,
                )
        reports = []

        def run() -> None:
            reports.append(deliver_pending_sync(db, settings=settings, chunk_size=4))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        sent = [o.id for r in reports for o in r.sent]
        assert len(sent) == len(set(sent)) == 30
        assert sink.handler.duplicates == 0
        assert len(sink.messages()) == 30
    with session_scope(db) as s:
        assert {r.attempts for r in s.exec(select(Dispatch))} == {1}


async def test_async_delivery_and_threading_headers(db: str, sink) -> None:
    settings = mail_settings(sink.port)
    first = queue_one(db, settings, key="awal")
    follow = queue_one(
        db,
        settings,
        key="lanjutan",
        subject="Pengingat",
        in_reply_to=first.message_id,
        references=[first.message_id],
    )
    report = await deliver_pending(db, keys=["lanjutan"], settings=settings)
    assert [o.id for o in report.sent] == [follow.id]
    [msg] = sink.messages()
    assert msg["In-Reply-To"] == first.message_id
    assert msg["References"] == first.message_id
    assert get_row(db, first.id).state == DispatchState.QUEUED  # not in keys: untouched
    with session_scope(db) as s:
        assert find_by_message_id(s, first.message_id.strip("<>")).id == first.id
        assert find_by_message_id(s, "<tidak@ada>") is None


def test_enqueue_belongs_to_the_callers_transaction(db: str) -> None:
    settings = mail_settings(free_port())
    engine = get_engine(db)
    with Session(engine) as s:
        for i in range(3):
            enqueue(
                s,
                key=f"tx-{i}",
                recipient="pic@samarinda.go.id",
                subject="Uji transaksi",
                template="umum",
                context={"paragraf": ["x"]},
                settings=settings,
            )
        assert s.exec(select(func.count()).select_from(Dispatch)).one() == 3
        s.rollback()  # the flow's step failed: nothing it queued may go out
    assert count_rows(db) == 0


def test_non_ascii_headers_and_file_names(db: str, sink, tmp_path: Path) -> None:
    settings = mail_settings(sink.port)
    odd = tmp_path / 'Lembar "Kuesioner" – Kota Samarinda.xlsx'
    odd.write_bytes(os.urandom(3000))
    row = queue_one(
        db,
        settings,
        recipient_name="Ir. Señora Ayu, M.T.",
        subject="Pemberitahuan — penilaian tahap ke-2 " + "sangat panjang " * 8,
        attachments=[odd],
        context={"paragraf": ["Baris dengan é dan titik:\n.awal baris titik", "x" * 300]},
    )
    deliver_pending_sync(db, settings=settings)
    [msg] = sink.messages()
    assert msg["Subject"] == row.subject
    assert msg["To"].addresses[0].display_name == "Ir. Señora Ayu, M.T."
    [part] = [p for p in msg.walk() if p.get_filename()]
    assert part.get_filename() == odd.name
    assert hashlib.sha256(part.get_payload(decode=True)).hexdigest() == row.attachments[0]["sha256"]
    text = msg.get_body(("plain",)).get_content()
    assert "Baris dengan é dan titik:\n.awal baris titik" in text and "x" * 300 in text
    assert msg.get_body(("html",)).get_content().count("x" * 300) == 1


def test_sessions_are_reused_within_the_concurrency_limit(db: str, sink) -> None:
    settings = mail_settings(sink.port, concurrency=2)
    with session_scope(db) as s:
        for i in range(25):
            enqueue(
                s,
                key=f"sesi-{i}",
                recipient=f"orang{i}@contoh.go.id",
                subject=f"Pesan {i}",
                template="umum",
                context={"paragraf": ["Isi"]},
                settings=settings,
            )
    report = deliver_pending_sync(db, settings=settings, chunk_size=5)
    assert len(report.sent) == 25 and len(sink.messages()) == 25
    assert 1 <= sink.handler.sessions <= 2  # 25 messages over at most 2 SMTP sessions


async def test_sync_wrapper_inside_a_running_loop(db: str, sink) -> None:
    # An async caller (e.g. an async Prefect task) that uses the sync wrapper must not deadlock.
    settings = mail_settings(sink.port)
    row = queue_one(db, settings)
    report = deliver_pending_sync(db, settings=settings)
    assert [o.id for o in report.sent] == [row.id]
    assert len(sink.messages()) == 1


def test_enqueue_race_on_the_same_key(db: str) -> None:
    """B checks while A's row is not committed yet; B's insert then yields to A's row."""
    settings = mail_settings(free_port())
    engine = get_engine(db)
    key = "balapan"
    kwargs = {
        "key": key,
        "recipient": "pic@samarinda.go.id",
        "template": "umum",
        "context": {"paragraf": ["x"]},
        "settings": settings,
    }
    got: dict[str, int] = {}

    def b() -> None:
        with Session(engine) as sb:
            got["b"] = enqueue(sb, subject="B", **kwargs).id
            got["b_subject"] = sb.get(Dispatch, got["b"]).subject
            sb.commit()

    with Session(engine) as sa:
        a = enqueue(sa, subject="A", **kwargs)
        thread = threading.Thread(target=b)
        thread.start()
        thread.join(0.5)  # B is now blocked on A's uncommitted row (or has not started yet)
        sa.commit()
        a_id = a.id
    thread.join(60)
    assert got["b"] == a_id and got["b_subject"].endswith(" A")
    assert count_rows(db) == 1


# --------------------------------------------------------------------------- one row builder


def _message(key: str, **kw: object):
    from mail.outbox import OutboxMessage

    return OutboxMessage(
        key=key,
        recipient=kw.pop("recipient", "PIC.Samarinda@Contoh.Example"),
        recipient_name="PIC Samarinda",
        cc=["admin.pemantik@kaltimprov.go.id"],
        subject="Pengingat: pengembalian Jawaban Kuesioner",
        template="pengingat",
        context={"year": 2026, "pending": "pengembalian Jawaban Kuesioner",
                 "due_date": date(2026, 3, 25), "region_name": "Kota Samarinda", "days_left": 1},
        kind="pengingat", step_no=4, cycle_id=1, region_code=kw.pop("region_code", "64.72"),
        **kw,
    )  # fmt: skip


def test_bulk_rows_equal_single_enqueue_rows(db: str) -> None:
    from dataclasses import asdict

    from mail.outbox import enqueue_many

    with session_scope(db) as s:
        result = enqueue_many(s, [_message("bulk/1")])
        bulk = s.get(Dispatch, result.inserted["bulk/1"])
        single = enqueue(
            s, **{**asdict(_message("single/1")), "cc": ["admin.pemantik@kaltimprov.go.id"]}
        )
        for column in ("recipient", "recipient_name", "cc", "subject", "body_text", "body_html",
                       "kind", "state", "region_code", "cycle_id", "step_no"):  # fmt: skip
            assert getattr(bulk, column) == getattr(single, column), column
        assert bulk.recipient == "PIC.Samarinda@contoh.example"
        assert bulk.message_id == message_id_for("bulk/1", "pemantik.kaltimprov.go.id")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"region_code": "99.99"}, "wilayah dengan kode 99.99 tidak terdaftar"),
        ({"cycle_id": 999}, "siklus yang dituju tidak ditemukan"),
        ({"in_reply_to": "<a@b>\r\nBcc: x@y"}, "In-Reply-To"),
        ({"recipient": "bukan alamat"}, "bukan alamat surel yang sah"),
    ],
)
def test_bulk_enqueue_refuses_what_single_enqueue_refuses(db: str, change, reason) -> None:
    from dataclasses import asdict, replace

    from mail.outbox import enqueue_many

    bad = replace(_message("bad/1"), **change)
    with session_scope(db) as s:
        result = enqueue_many(s, [bad, _message("good/1")])
        assert reason in result.refused["bad/1"] and set(result.inserted) == {"good/1"}
        with pytest.raises(OutboxError, match=reason.split(" ")[0]):
            enqueue(s, **{**asdict(bad), "key": "bad/2"})
        assert s.exec(select(Dispatch.idempotency_key)).all() == ["good/1"]


def test_bulk_insert_skips_a_key_queued_concurrently(db: str, monkeypatch) -> None:
    from mail import outbox

    with session_scope(db) as s:
        outbox.enqueue_many(s, [_message("race/1")])
        # Simulate the race: the lookup misses the key, the insert meets the unique index.
        monkeypatch.setattr(outbox, "existing_keys", lambda s, keys: set())
        result = outbox.enqueue_many(s, [_message("race/1"), _message("race/2")])
        assert set(result.inserted) == {"race/2"} and result.existing == {"race/1"}
        assert len(s.exec(select(Dispatch)).all()) == 2
