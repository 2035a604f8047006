"""Benchmark: the outbox (enqueue + deliver, reused sessions, concurrency) vs stdlib smtplib.

Both send the same kind of message (text + HTML + a 100 KB attachment) to the same local sink,
which runs in a separate process and stores every message in a Maildir. The baseline opens one
smtplib connection per message, as a naive script would. The outbox figure includes everything
a flow pays: rendering + validation + hashing + the INSERT (enqueue), then claiming, building,
sending over ``concurrency`` reused SMTP sessions and writing receipts (deliver).

    .venv/bin/python benchmarks/mail_outbox.py [--messages 1000] [--db-url URL] [--sink aiosmtpd|fast]

The sink is the embedded one (``pemantik smtp-sink``) by default; ``--sink fast`` uses
``mail.fastsink`` (same Maildir, same Message-ID deduplication, bulk DATA reads) so that the
server is less of a bottleneck than the clients being compared.
"""

from __future__ import annotations

import argparse
import mailbox
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink_process(maildir: Path, port: int, kind: str) -> subprocess.Popen:
    module = "mail.fastsink" if kind == "fast" else "mail.sink"
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--maildir", str(maildir), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("sink did not start")


def baseline(port: int, n: int, attachment: Path, html: str, text: str) -> float:
    data = attachment.read_bytes()
    start = time.perf_counter()
    for i in range(n):
        msg = EmailMessage()
        msg["From"] = "PeManTIK <pemantik@kaltimprov.go.id>"
        msg["To"] = f"pic{i}@contoh.go.id"
        msg["Subject"] = f"[PEMANTIK-2026-64.72] Baseline {i}"
        msg["Message-ID"] = f"<baseline-{i}@bench.local>"
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        msg.add_attachment(
            data,
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
            filename=attachment.name,
        )
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            client.send_message(msg)
    return time.perf_counter() - start


def outbox(url: str, port: int, n: int, attachment: Path, concurrency: int) -> tuple[float, float]:
    from mail.outbox import deliver_pending_sync, dispatch_key, enqueue
    from models.db import session_scope
    from models.settings import load_settings

    settings = load_settings(
        database_url=url, smtp={"host": "127.0.0.1", "port": port, "concurrency": concurrency}
    )
    run = uuid.uuid4().hex[:8]  # fresh keys: an existing database is fine
    start = time.perf_counter()
    with session_scope(url) as session:
        for i in range(n):
            enqueue(
                session,
                key=dispatch_key(None, "64.72", f"bench-{run}", f"pic{i}@contoh.go.id"),
                recipient=f"pic{i}@contoh.go.id",
                recipient_name=f"PIC {i}",
                subject=f"Outbox {i}",
                template="umum",
                context={"paragraf": ["Dengan hormat, terlampir surat pemberitahuan.", str(i)]},
                attachments=[attachment],
                region_code="64.72",
                settings=settings,
            )
    queued = time.perf_counter()
    keys = [dispatch_key(None, "64.72", f"bench-{run}", f"pic{i}@contoh.go.id") for i in range(n)]
    report = deliver_pending_sync(url, keys=keys, settings=settings)
    done = time.perf_counter()
    if len(report.sent) != n:
        raise SystemExit(f"outbox sent {len(report.sent)} of {n}: {report.summary()}")
    return queued - start, done - queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--attachment-kb", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--db-url", default="", help="default: a fresh SQLite file; a PostgreSQL URL is migrated"
    )
    parser.add_argument("--sink", choices=["aiosmtpd", "fast"], default="fast")
    args = parser.parse_args()

    from mail.render import render_bodies
    from models.db import migrate, session_scope
    from models.registry import ensure_reference_data
    from models.settings import load_settings

    n = args.messages
    with tempfile.TemporaryDirectory(prefix="pemantik-bench-") as tmp:
        tmpdir = Path(tmp)
        os.environ["PEMANTIK_DATA_DIR"] = str(tmpdir / "data")
        url = args.db_url or f"sqlite:///{tmpdir / 'bench.db'}"
        migrate(url)
        with session_scope(url) as session:
            ensure_reference_data(session)
        attachment = tmpdir / "Surat Pemberitahuan.docx"
        attachment.write_bytes(os.urandom(args.attachment_kb * 1024))
        org = load_settings().organisation
        text, html = render_bodies(
            "umum",
            {
                "paragraf": ["Dengan hormat, terlampir surat pemberitahuan."],
                "org": org,
                "reference": "[PEMANTIK-2026-64.72]",
                "recipient_name": "PIC",
                "sender_name": "PeManTIK",
                "subject": "x",
            },
        )

        port = free_port()
        maildir = tmpdir / "maildir"
        sink = start_sink_process(maildir, port, args.sink)
        try:
            base_s = baseline(port, n, attachment, html, text)
            enq_s, deliver_s = outbox(url, port, n, attachment, args.concurrency)
        finally:
            sink.terminate()
            sink.wait(30)
        stored = len(mailbox.Maildir(str(maildir), create=False))

    base_rate = n / base_s
    outbox_s = enq_s + deliver_s
    outbox_rate = n / outbox_s
    print(f"messages per run      : {n} × {args.attachment_kb} KB attachment, sink={args.sink}")
    print(f"database              : {'SQLite' if url.startswith('sqlite') else url.split(':')[0]}")
    print(f"stored in the Maildir : {stored} (expected {2 * n})")
    print(f"smtplib, 1 conn/msg   : {base_s:7.2f} s  {base_rate:8.1f} msg/s")
    print(
        f"outbox enqueue        : {enq_s:7.2f} s  {n / enq_s:8.1f} msg/s "
        f"(render, validate, sha256, INSERT)"
    )
    print(
        f"outbox deliver        : {deliver_s:7.2f} s  {n / deliver_s:8.1f} msg/s "
        f"({args.concurrency} reused sessions)"
    )
    print(f"outbox total          : {outbox_s:7.2f} s  {outbox_rate:8.1f} msg/s")
    print(
        f"ratio outbox/smtplib  : {outbox_rate / base_rate:.2f}×  (deliver only: {(n / deliver_s) / base_rate:.2f}×)"
    )
    if stored != 2 * n:
        raise SystemExit("some messages were not stored")


if __name__ == "__main__":
    main()
