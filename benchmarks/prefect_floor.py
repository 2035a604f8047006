"""Prefect alone: the scale benchmark's baseline (see ``benchmarks/scale_bench.py``).

    python benchmarks/prefect_floor.py --regions N --shape '{"per_region": {...}}' --work DIR

Starts the engine as the demo does (Prefect on the embedded PostgreSQL), serves one flow with the product's in-process runner
(in a child process, as ``pemantik serve`` runs), creates one run per region and resumes each
as soon as it suspends. A run makes, per region, as many task runs and suspends as the
product's region runs made; each task does nothing. Like the product's region flow, a resumed
run skips the stages it has passed (here: a progress file per run) instead of replaying them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prefect import flow, task  # noqa: E402
from prefect.context import get_run_context  # noqa: E402
from prefect.flow_runs import suspend_flow_run  # noqa: E402
from prefect.input import RunInput  # noqa: E402


class Answer(RunInput):
    ok: bool = True


@task(name="langkah kosong")
def nothing(stage: int, index: int) -> int:
    return stage * 1000 + index


@flow(name="prefect-saja", persist_result=True)
def floor_region(index: int, stages: int, tasks: int, progress: str) -> int:
    run_id = str(get_run_context().flow_run.id)
    marker = Path(progress) / run_id
    passed = int(marker.read_text()) if marker.exists() else 0
    per_stage = max(1, round(tasks / (stages + 1)))
    for stage in range(passed, stages + 1):
        for i in range(per_stage):
            nothing(stage, i)
        if stage == stages:
            break
        marker.write_text(str(stage))  # this stage's tasks are done
        suspend_flow_run(wait_for_input=Answer, key=f"tahap-{stage}", timeout=None)
        marker.write_text(str(stage + 1))
    return index


def serve_main() -> None:
    import signal

    from deployments.runner import serve_in_process
    from models.db import migrate

    migrate()  # the runner's lease lives in the app's database
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    pair = (floor_region, floor_region.to_deployment(name="dasar"))
    serve_in_process([pair], poll_seconds=0.5, stop=stop, lease_seconds=60)


def drive(regions: int, shape: dict, work: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.deployments import run_deployment
    from prefect.flow_runs import resume_flow_run

    per_region = shape["per_region"]
    stages = max(1, round(per_region["suspends"]))
    tasks = max(1, round(per_region["task_runs"]))
    progress = work / "progress"
    progress.mkdir(parents=True, exist_ok=True)
    for i in range(regions):
        run_deployment(
            "prefect-saja/dasar",
            parameters={"index": i, "stages": stages, "tasks": tasks, "progress": str(progress)},
            timeout=0,
        )
    flows = FlowFilter(name=FlowFilterName(any_=["prefect-saja"]))

    def runs_in(states: list[StateType]) -> list:
        found, offset = [], 0
        with get_client(sync_client=True) as client:
            while True:
                page = client.read_flow_runs(
                    flow_filter=flows,
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=states))
                    ),
                    limit=200,
                    offset=offset,
                )
                found += page
                if len(page) < 200:
                    return found
                offset += 200

    while len(runs_in([StateType.COMPLETED])) < regions:
        for run in runs_in([StateType.PAUSED]):
            try:
                resume_flow_run(run.id, run_input={"ok": True})
            except Exception:  # resumed meanwhile, or not quite suspended yet: next pass
                pass
        time.sleep(0.5)


def wait_for_deployment(name: str, timeout: float = 120.0) -> None:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            try:
                client.read_deployment_by_name(name)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regions", type=int)
    parser.add_argument("--shape")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--drive", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve_main()
        return
    if args.drive:
        wait_for_deployment("prefect-saja/dasar")
        t0 = time.monotonic()
        drive(args.regions, json.loads(args.shape), args.work)
        print(f"Prefect alone: {args.regions} runs done in {time.monotonic() - t0:.1f} s")
        return
    from benchmarks.flows_bench import bench_env
    from deployments.prefect_server import LocalEngine

    # Prefect reads its settings when imported: the children get them in their environment.
    # The same engine as the product's demo: Prefect on the embedded PostgreSQL, with its UI,
    # credentials and access log.
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    engine = LocalEngine(work / "data", work / "prefect", ui=True, access_log=True).start()
    env = dict(
        bench_env(work, engine.port),
        **engine.client_env(),
        PEMANTIK_DATABASE_URL=engine.app_database_url,
    )
    serving = subprocess.Popen([sys.executable, __file__, "--serve"], env=env, cwd=ROOT)
    try:
        code = subprocess.call(
            [
                sys.executable,
                __file__,
                "--drive",
                "--regions",
                str(args.regions),
                "--shape",
                args.shape,
                "--work",
                str(work),
            ],
            env=env,
            cwd=ROOT,
        )
    finally:
        serving.terminate()
        serving.wait(60)
        engine.stop()
    sys.exit(code)


if __name__ == "__main__":
    main()
