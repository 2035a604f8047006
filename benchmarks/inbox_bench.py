"""Benchmark: one reading pass of the inbox over N replies in a Maildir (SQLite).

Run: .venv/bin/python benchmarks/inbox_bench.py [--messages 300]

Figures printed:
1. The product's pass (``inbox.reader.read_once``, replies not delivered): per message, the raw
   file written with fsync + rename, the row committed, the Maildir file moved to cur/, then the
   row claimed, the reply matched (In-Reply-To → Dispatch), read, and an Acknowledgement
   committed with the row's final state.
2. The same pass again (nothing new: what every 5-minute run costs on a quiet mailbox).
3. Baseline in the same run: the bare minimum any reader does — the stdlib reading every file
   of the Maildir and parsing it (``email`` with the default policy), no storage, no database.
The ratio 1/3 is the price of durability and exactly-once (disk syncs and commits per message).
4. Reading what people write: every reply of the corpus (tests/reply_corpus.py, as Outlook,
   Gmail, Thunderbird, Apple Mail, phones write them) parsed, split from its quote and read
   (``parse_message`` + ``read_reply``), against the stdlib parse of the same bytes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pemantik-inbox-bench-"))
    os.environ["PEMANTIK_DATA_DIR"] = str(work / "data")
    os.environ["PEMANTIK_DATABASE_URL"] = f"sqlite:///{work / 'bench.db'}"
    os.environ["PEMANTIK_INBOX_BATCH_SIZE"] = str(args.messages)

    from datetime import date

    from sqlmodel import select

    from inbox.compose import drop_into_maildir, reply_to
    from inbox.reader import read_once
    from inbox.settings import inbox_maildir
    from mail.outbox import enqueue
    from models.db import migrate, session_scope
    from models.settings import reset_settings
    from models.tables import Acknowledgement, Cycle, Dispatch, Region

    reset_settings()
    migrate()
    regions = [(f"99.{i:02d}", f"pic{i}@wilayah{i}.go.id") for i in range(10)]
    with session_scope() as s:
        for code, email in regions:
            s.add(Region(code=code, name=f"Kota Uji {code}", pic_name="PIC", pic_email=email))
        cycle = Cycle(year=2026, instrument_code="spbe-2020", start_date=date(2026, 7, 1))
        s.add(cycle)
        s.flush()
        for code, email in regions:
            enqueue(
                s,
                key=f"bench/{code}",
                recipient=email,
                subject="Surat Pemberitahuan",
                template="umum",
                context={"paragraf": ["Isi."]},
                kind="pemberitahuan",
                cycle_id=cycle.id,
                region_code=code,
            )
        sent = {
            d.region_code: d for d in s.exec(select(Dispatch).where(Dispatch.cycle_id == cycle.id))
        }
    maildir = inbox_maildir()
    for n in range(args.messages):
        code, email = regions[n % len(regions)]
        d = sent[code]
        original = (
            f"From: pemantik@kaltimprov.go.id\r\nTo: {email}\r\nSubject: {d.subject}\r\n"
            f"Message-ID: {d.message_id}\r\n\r\n{d.body_text}"
        ).encode()
        body = f"Diterima oleh: Petugas {n}, Nomor agenda: {n}/UJI/2026"
        drop_into_maildir(maildir, reply_to(original, email, body))

    started = time.perf_counter()
    files = [p for sub in ("new", "cur") for p in (maildir / sub).iterdir()]
    for path in files:
        message_from_bytes(path.read_bytes(), policy=default)
    baseline = time.perf_counter() - started

    started = time.perf_counter()
    report = read_once(deliver_replies=False)
    product = time.perf_counter() - started
    started = time.perf_counter()
    quiet = read_once(deliver_replies=False)
    again = time.perf_counter() - started

    with session_scope() as s:
        acks = len(s.exec(select(Acknowledgement)).all())
    assert report.counts() == {"processed": args.messages}, report.summary()
    assert acks == args.messages and quiet.fetched == 0
    n = args.messages
    print(f"messages: {n} (SQLite, {work})")
    print(f"1. read_once (store, commit, mark, match, act): {product:.2f} s = {n / product:.0f}/s")
    print(f"2. second pass, nothing new:                   {again * 1000:.1f} ms")
    print(f"3. baseline, stdlib read + parse only:         {baseline:.2f} s = {n / baseline:.0f}/s")
    print(f"ratio 1/3: {product / baseline:.1f}x")
    corpus_figures(work)


def corpus_figures(work: Path, rounds: int = 20) -> None:
    from inbox.parse import parse_message
    from inbox.replies import read_reply
    from tests.reply_corpus import write_corpus

    folder = work / "korpus"
    write_corpus(folder)
    raws = [p.read_bytes() for p in sorted(folder.glob("*.eml"))]
    started = time.perf_counter()
    for _ in range(rounds):
        for raw in raws:
            message_from_bytes(raw, policy=default)
    stdlib = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(rounds):
        for raw in raws:
            read_reply(parse_message(raw).split)
    ours = time.perf_counter() - started
    count = rounds * len(raws)
    print(
        f"4. corpus replies parsed, split and read:       {count / ours:.0f}/s ({len(raws)} replies x {rounds})"
    )
    print(
        f"   baseline, stdlib parse of the same bytes:   {count / stdlib:.0f}/s; ratio {ours / stdlib:.1f}x"
    )


if __name__ == "__main__":
    main()
