"""Flows benchmark: the demo's wall time, and answer → next email latency (p50/p95).

    .venv/bin/python benchmarks/flows_bench.py [--regions 10] [--skip-demo] [--skip-baseline]

Latency: N regions are started and wait for their questionnaire answers; then every region's
answers are submitted through the door (``services.waits.submit``), and the time from each
submit to that region's next email (the Tanda Terima, a numbered letter with its PDF) arriving
in the SMTP sink is measured — "spaced": one answer at a time, the next only after the previous
email arrived; "burst": all N answers at once. Measured for two runners in the same run: with ``pemantik serve`` (the in-process runner)
and, as the baseline, with Prefect's own Runner (``prefect.serve``: a fresh interpreter per run
and per resume). Each mode runs in a child process with its own engine (the embedded default:
Prefect and the app on the embedded PostgreSQL) and sink, because Prefect reads its settings
when it is imported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[index]


def child(regions: int, runner: str, work: Path, pattern: str) -> dict:
    from mail.sink import start_sink

    sink = start_sink(work / "mail", port=0)
    os.environ["PEMANTIK_SMTP__PORT"] = str(sink.port)

    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from sqlmodel import select

    from assessment.instruments import load_instrument
    from deployments.serve import ServeProcess
    from models.db import migrate, session_scope
    from models.registry import ensure_reference_data
    from models.settings import reset_settings
    from models.tables import Region, Wait, WaitState
    from services.waits import submit

    reset_settings()
    migrate()
    with session_scope() as session:
        ensure_reference_data(session)
        codes = [r.code for r in session.exec(select(Region).order_by(Region.code))][:regions]
        emails = {r.code: r.pic_email for r in session.exec(select(Region))}
    instrument = load_instrument("spbe-2020")
    answers = {
        i.code: {"level": 3, "evidence": "https://contoh.example/bukti"}
        for i in instrument.indicators
    }

    def open_waits() -> dict[str, Wait]:
        with session_scope() as session:
            rows = session.exec(
                select(Wait).where(Wait.state == WaitState.OPEN, Wait.kind == "jawaban")
            ).all()
            return {w.region_code: w for w in rows}

    def paused(run_ids: list[str]) -> bool:
        with get_client(sync_client=True) as client:
            return all(client.read_flow_run(i).state.is_paused() for i in run_ids)

    with ServeProcess(work / "serve.log", poll_seconds=1.0, runner=runner):
        t_start = time.monotonic()
        run_deployment(
            "siklus-pemantik/siklus",
            timeout=0,
            parameters={"year": 2026, "regions": codes, "start_date": "2026-07-01"},
        )
        while True:
            waits = open_waits()
            if len(waits) == len(codes) and paused([w.flow_run_id for w in waits.values()]):
                break
            if time.monotonic() - t_start > 900:
                raise SystemExit("regions did not reach their first wait in 15 minutes")
            time.sleep(0.2)
        all_waiting = time.monotonic() - t_start
        submitted: dict[str, float] = {}
        latency: dict[str, float] = {}

        def collect(wanted: list[str]) -> None:
            deadline = time.monotonic() + 900
            while any(c not in latency for c in wanted) and time.monotonic() < deadline:
                for message in sink.messages():
                    for code in wanted:
                        # The letter goes to the Kepala Dinas with the officer in Cc.
                        to = f"{message['To']} {message.get('Cc', '')}"
                        if code in latency or emails[code] not in to:
                            continue
                        if re.search("Tanda Terima", str(message["Subject"]), re.I):
                            latency[code] = time.monotonic() - submitted[code]
                time.sleep(0.05)

        def answer(code: str) -> None:
            submitted[code] = time.monotonic()
            submit(
                "jawaban",
                region=code,
                year=2026,
                payload={"data": answers},
                via="api",
                who="benchmark",
                resume_timeout=30,
            )

        if pattern == "burst":  # every region answers at once
            for code in codes:
                answer(code)
            collect(codes)
        else:  # one answer at a time: the next only after the previous one's email arrived
            for code in codes:
                answer(code)
                collect([code])
    sink.stop()
    values = list(latency.values())
    return {
        "runner": runner,
        "pattern": pattern,
        "regions": len(codes),
        "start_to_all_waiting_s": round(all_waiting, 1),
        "answer_to_email_p50_s": round(statistics.median(values), 2),
        "answer_to_email_p95_s": round(percentile(values, 0.95), 2),
        "answers_measured": len(values),
    }


def bench_env(work: Path, port: int) -> dict[str, str]:
    """The environment of a benchmark's child processes: Prefect at ``port``, data in ``work``."""
    return dict(
        os.environ,
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_HOME=str(work / "prefect-home"),
        PREFECT_RESULTS_PERSIST_BY_DEFAULT="true",
        PREFECT_LOCAL_STORAGE_PATH=str(work / "results"),
        PREFECT_LOGGING_LEVEL="WARNING",
        PEMANTIK_DATA_DIR=str(work / "data"),
        PEMANTIK_DATABASE_URL=f"sqlite:///{work / 'data' / 'pemantik.db'}",
        PYTHONPATH=str(ROOT),
        PEMANTIK_DEMO="true",  # the shipped example signer and lambang, as in the demo
    )


def run_mode(regions: int, runner: str, pattern: str) -> dict:
    from deployments.prefect_server import LocalEngine

    work = Path(tempfile.mkdtemp(prefix=f"pemantik-bench-{runner}-"))
    # The embedded default, as the demo runs it: Prefect and the app on the embedded
    # PostgreSQL, with credentials and the access log.
    engine = LocalEngine(work / "data", work / "prefect", ui=True, access_log=True).start()
    env = dict(
        bench_env(work, engine.port),
        **engine.client_env(),
        PEMANTIK_DATABASE_URL=engine.app_database_url,
    )
    try:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                runner,
                "--regions",
                str(regions),
                "--pattern",
                pattern,
                "--work",
                str(work),
            ],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=1800,
        )
    finally:
        engine.stop()
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"{runner} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def demo_wall_time() -> float:
    work = Path(tempfile.mkdtemp(prefix="pemantik-bench-demo-"))
    t0 = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "demo", "--keluar", str(work)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1800,
    )
    wall = time.monotonic() - t0
    if out.returncode != 0:
        raise SystemExit(f"demo failed:\n{out.stdout[-3000:]}\n{out.stderr[-2000:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regions", type=int, default=10)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--pattern", default="burst", choices=["burst", "spaced"])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.regions, args.child, args.work, args.pattern)))
        return
    if not args.skip_demo:
        wall = demo_wall_time()
        print(f"demo, 10 regions, whole cycle (pemantik demo): {wall:.1f} s wall")
    runners = ["dalam-proses"] + ([] if args.skip_baseline else ["prefect"])
    results = [run_mode(args.regions, r, p) for p in ("spaced", "burst") for r in runners]
    print(
        f"{'runner':<14}{'answers':<8}{'regions':>8}{'start→waiting s':>17}{'p50 s':>8}{'p95 s':>8}"
    )
    for r in results:
        print(
            f"{r['runner']:<14}{r['pattern']:<8}{r['regions']:>8}{r['start_to_all_waiting_s']:>17}"
            f"{r['answer_to_email_p50_s']:>8}{r['answer_to_email_p95_s']:>8}"
        )
    for pattern in ("spaced", "burst"):
        pair = {r["runner"]: r for r in results if r["pattern"] == pattern}
        if len(pair) == 2:
            ours, base = pair["dalam-proses"], pair["prefect"]
            print(
                f"ratio (prefect Runner / in-process), {pattern}: p95 answer→email "
                f"{base['answer_to_email_p95_s'] / ours['answer_to_email_p95_s']:.1f}×, "
                f"start→all waiting "
                f"{base['start_to_all_waiting_s'] / ours['start_to_all_waiting_s']:.1f}×"
            )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
