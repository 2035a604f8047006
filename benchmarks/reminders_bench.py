"""Benchmark: one daily reminder run over 10,000 synthetic open waits (query, decide, queue).

Run: .venv/bin/python benchmarks/reminders_bench.py [--waits 10000] [--regions 2000]
     [--letters 10] [--skip-naive]

Figures printed (no SMTP delivery; the rows are left queued):
1. PostgreSQL, the product's path (``reminders.service.plan_and_queue`` + commit): one query for
   the open waits joined with regions and cycles; who still owes each wait asked of its stage
   once per stage kind for all waits (``Stage.owes_many``); the ladder decided in memory; one
   query per 2,000 keys for keys already queued; rows built by the outbox's one row builder and
   streamed in with COPY + ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING``; the step
   records COPYed in by the audit trail's bulk writer. Goal: under 5 s.
2. The same day run a second time (every key exists: nothing new is queued).
3. Baseline in the same run: the naive approach on the same PostgreSQL data — ORM objects, one
   query per wait for its region and cycle, the stage asked per wait, and ``mail.outbox.enqueue``
   and ``record_step`` per message.
4. The product's path on SQLite with the same data.
The waits (one per region and stage, as the region flows open them; each region has two
assessors) have due dates spread evenly over working-day offsets -2..+3 from the run's date, so
five of six waits hit a rung (the heaviest possible day). The +3 rung's numbered letter is switched off for
figures 1-4 (a Surat Pengingat is a document, not a row); ``--letters N`` times issuing N of
them with one batch PDF conversion separately.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PG_ADMIN = os.environ.get(
    "PEMANTIK_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TODAY = date(2026, 8, 5)  # a Wednesday, a working day
OFFSETS = (-2, -1, 0, 1, 2, 3)


def _reset_settings(url: str) -> None:
    from models.settings import reset_settings

    os.environ["PEMANTIK_DATABASE_URL"] = url
    reset_settings()


def due_for_offsets(calendar) -> dict[int, date]:  # noqa: ANN001
    """A due date for each offset: working_days_between(due, TODAY) == offset."""
    found: dict[int, date] = {}
    day = TODAY - timedelta(days=30)
    while len(found) < len(OFFSETS):
        offset = calendar.working_days_between(day, TODAY)
        if offset in OFFSETS and offset not in found and calendar.is_working_day(day):
            found[offset] = day
        day += timedelta(days=1)
    return found


def seed(url: str, waits: int, regions: int) -> None:
    from sqlalchemy import insert

    from models.db import migrate, session_scope
    from models.tables import Assessor, Assignment, Cycle, CycleState, Region, Wait
    from models.workdays import WorkCalendar

    migrate(url)
    dues = due_for_offsets(WorkCalendar())
    codes = [f"{90 + i // 100:02d}.{i % 100:02d}" for i in range(regions)]
    with session_scope(url) as s:
        s.execute(
            insert(Region.__table__),
            [
                {
                    "code": c,
                    "name": f"Kabupaten Uji {c}",
                    "kind": "Kabupaten",
                    "province": "Provinsi Uji",
                    "pic_name": f"PIC Uji {c}",
                    "pic_email": f"pic.{c.replace('.', '')}@contoh.example",
                    "head_title": f"Kepala Dinas Kominfo Kabupaten Uji {c}",
                    "head_email": f"kadis.{c.replace('.', '')}@contoh.example",
                    "address": "",
                    "active": True,
                }
                for c in codes
            ],
        )
        s.execute(
            insert(Assessor.__table__),
            [
                {"name": f"Asesor Uji {i}", "email": f"asesor{i}@contoh.example", "active": True}
                for i in range(1, 51)
            ],
        )
        cycle = Cycle(
            year=2026, instrument_code="spbe-2020", start_date=date(2026, 7, 1),
            state=CycleState.RUNNING, params={"year": 2026, "start_date": "2026-07-01"},
        )  # fmt: skip
        s.add(cycle)
        s.flush()
        assessor_ids = [a.id for a in s.exec(Assessor.__table__.select())]
        # Two assessors per region: accepted in even regions, still asked in odd ones.
        s.execute(
            insert(Assignment.__table__),
            [
                {
                    "cycle_id": cycle.id,
                    "region_code": code,
                    "assessor_id": assessor_ids[(n * 2 + k) % len(assessor_ids)],
                    "state": "accepted" if n % 2 == 0 else "requested",
                    "coi_statement": "",
                    "reason": "",
                    "created_at": datetime.now(UTC),
                }
                for n, code in enumerate(codes)
                for k in range(2)
            ],
        )
        kinds = [("jawaban", 4), ("konfirmasi", 8), ("kehadiran", 10), ("nilai", 11),
                 ("penerimaan", 13)]  # fmt: skip
        rows = []
        opened = datetime.now(UTC)
        for i in range(waits):
            kind, step_no = kinds[(i // regions) % len(kinds)]
            offset = OFFSETS[i % len(OFFSETS)]
            rows.append(
                {
                    "cycle_id": cycle.id,
                    "region_code": codes[i % regions],
                    "step_no": step_no,
                    "kind": kind,
                    "flow_run_id": "",
                    "input_key": f"w-{i}",
                    "started_on": dues[offset] - timedelta(days=9),
                    "due_date": dues[offset],
                    "extended": False,
                    "state": "open",
                    "opened_at": opened,
                }
            )
        for start in range(0, len(rows), 2000):
            s.execute(insert(Wait.__table__), rows[start : start + 2000])


def ladder_without_letters():  # noqa: ANN201
    from reminders.ladder import load_ladder

    ladder = load_ladder()
    return ladder.model_copy(
        update={"rungs": [r.model_copy(update={"letter": ""}) for r in ladder.rungs]}
    )


def product_run(url: str, ladder) -> tuple[float, object]:  # noqa: ANN001
    from models.db import session_scope
    from reminders.service import plan_and_queue

    clock = time.perf_counter()
    with session_scope(url) as s:
        report = plan_and_queue(s, TODAY, ladder=ladder)
    return time.perf_counter() - clock, report


def naive_run(url: str, ladder) -> tuple[float, int]:  # noqa: ANN001
    """The straightforward per-wait code: the baseline."""
    from dataclasses import replace

    from sqlmodel import select

    from mail import outbox
    from models.audit import record_step
    from models.db import session_scope
    from models.tables import Cycle, Region, Wait
    from models.workdays import calendar_from_settings
    from reminders.decide import WaitView, decide_day
    from reminders.service import reminder_message
    from services.waits import stage

    clock = time.perf_counter()
    queued = 0
    with session_scope(url) as s:
        calendar = calendar_from_settings(s)
        for wait in s.exec(select(Wait).where(Wait.state == "open").order_by(Wait.id)).all():
            region = s.exec(select(Region).where(Region.code == wait.region_code)).one()
            cycle = s.exec(select(Cycle).where(Cycle.id == wait.cycle_id)).one()
            view = WaitView(
                wait_id=wait.id, cycle_id=wait.cycle_id, cycle_year=cycle.year,
                region_code=region.code, region_name=region.name, pic_name=region.pic_name,
                pic_email=region.pic_email, head_title=region.head_title,
                head_email=region.head_email, step_no=wait.step_no, party="",
                kind=wait.kind, description="", due_date=wait.due_date,
            )  # fmt: skip
            st = stage(wait.kind)
            targets = [
                replace(view, party=p.role, description=st.request_for(p),
                        assessor_id=p.assessor_id, assessor_name=p.name,
                        assessor_email=p.email, per_assessor=p.role == "asesor")
                for p in st.owes(s, wait.cycle_id, wait.region_code)
            ]  # fmt: skip
            for d in decide_day(targets, TODAY, calendar, ladder, "admin@contoh.example").decisions:
                row = outbox.enqueue(s, reminder_message(d))
                record_step(
                    s, cycle_id=wait.cycle_id, region_code=wait.region_code,
                    assessor_id=d.wait.assessor_id, step_no=wait.step_no, event="reminder",
                    due_date=wait.due_date, detail={"key": d.key, "dispatch_id": row.id},
                )  # fmt: skip
                queued += 1
    return time.perf_counter() - clock, queued


def clear_queue(url: str) -> None:
    from sqlalchemy import text

    from models.db import session_scope

    with session_scope(url) as s:
        s.execute(text("DELETE FROM steprecord"))
        s.execute(text("DELETE FROM dispatch"))


def letters_run(url: str, n: int) -> float:
    """Issue n Surat Pengingat through the product's +3 path (one batch PDF conversion)."""
    from sqlmodel import select

    from models.db import session_scope
    from models.settings import get_settings
    from models.tables import Wait
    from reminders.decide import decide_day
    from reminders.ladder import load_ladder
    from reminders.service import ReminderReport, load_open_waits, queue_with_letters
    from reminders.targets import expand_targets

    with session_scope(url) as s:
        late = set(s.exec(select(Wait.id).where(Wait.kind == "jawaban")).all())
        waits = expand_targets(s, [w for w in load_open_waits(s) if w.wait_id in late])
        from models.workdays import calendar_from_settings

        plan = decide_day(
            waits, TODAY, calendar_from_settings(s), load_ladder(), "admin@contoh.example"
        )
        decisions = [d for d in plan.decisions if d.rung.letter][:n]
        report = ReminderReport(today=TODAY)
        clock = time.perf_counter()
        queue_with_letters(s, decisions, TODAY, get_settings(), report)
        seconds = time.perf_counter() - clock
    if report.errors:
        print("  letters errors:", report.errors[:3])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waits", type=int, default=10_000)
    parser.add_argument("--regions", type=int, default=2000)
    parser.add_argument("--letters", type=int, default=10)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pemantik-reminders-bench-"))
    os.environ["PEMANTIK_DATA_DIR"] = str(tmp / "data")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    import logging

    logging.disable(logging.WARNING)  # "no LibreOffice"/ outbox chatter stays out of figures
    import psycopg

    name = f"pemantik_bench_{uuid.uuid4().hex[:8]}"
    admin = PG_ADMIN.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    pg_url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    sqlite_url = f"sqlite:///{tmp / 'bench.db'}"
    ladder = ladder_without_letters()
    try:
        _reset_settings(pg_url)
        clock = time.perf_counter()
        seed(pg_url, args.waits, args.regions)
        print(f"seed PostgreSQL: {args.waits} open waits, {args.regions} regions "
              f"({time.perf_counter() - clock:.1f} s, not part of the figures)")  # fmt: skip

        pg_seconds, report = product_run(pg_url, ladder)
        print(f"\n1. PostgreSQL, product path: {pg_seconds:.2f} s for {report.open_waits} waits "
              f"-> {len(report.queued)} queued ({report.decided} reminders + digest), "
              f"{report.step_records} StepRecords")  # fmt: skip
        print("   phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in report.seconds.items()))
        print(f"   goal < 5 s: {'met' if pg_seconds < 5 else 'NOT met'}")
        again_seconds, again = product_run(pg_url, ladder)
        print(f"2. same day again: {again_seconds:.2f} s, {len(again.queued)} new, "
              f"{again.already_queued} already queued")  # fmt: skip

        if not args.skip_naive:
            clear_queue(pg_url)
            naive_seconds, naive_queued = naive_run(pg_url, ladder)
            print(f"3. baseline (naive per-wait queries + outbox.enqueue per message), "
                  f"PostgreSQL: {naive_seconds:.2f} s for {naive_queued} messages")  # fmt: skip
            print(f"   ratio naive / product: {naive_seconds / pg_seconds:.1f}x")

        _reset_settings(sqlite_url)
        seed(sqlite_url, args.waits, args.regions)
        lite_seconds, lite = product_run(sqlite_url, ladder)
        print(f"4. SQLite, product path: {lite_seconds:.2f} s -> {len(lite.queued)} queued; "
              f"ratio SQLite / PostgreSQL: {lite_seconds / pg_seconds:.2f}x")  # fmt: skip

        if args.letters:
            _reset_settings(pg_url)
            clear_queue(pg_url)
            seconds = letters_run(pg_url, args.letters)
            print(f"5. {args.letters} Surat Pengingat (number, docx, one batch PDF, queued): "
                  f"{seconds:.2f} s ({seconds / args.letters:.2f} s each)")  # fmt: skip
    finally:
        from models.db import dispose_engines

        dispose_engines()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
