"""Portal benchmark: N officers (default 514) send their questionnaire at once.

    .venv/bin/python benchmarks/portal_bench.py [--regions 514] [--workers 16]

Two runs on fresh databases with the same N regions (Kab/Kota across Indonesia from
``benchmarks/data/regions-indonesia.csv``), each region waiting on its answers:

- **baseline**: ``services.waits.submit`` called directly with each region's answers;
- **portal**: the same answers through the portal over HTTP, as a browser sends them — open the
  personal link, open the questionnaire, post it — against ``uvicorn`` in this process.

In both runs the step the flow takes next, the Tanda Terima (``questionnaire.send_receipt``:
numbered letter + email into a real SMTP sink), follows each accepted submission, so "to the
next email" is measured the same way. Prefect's resume is left out of both (it is the same
call in both doors; its cost is measured by ``benchmarks/flows_bench.py``). Prints the p50/p95
of each page, and of submission → email sent, and the portal's overhead against the baseline.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NATIONAL_REGIONS = ROOT / "benchmarks" / "data" / "regions-indonesia.csv"


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def prepare(work: Path, size: int) -> tuple[int, list[str]]:
    """A fresh database with ``size`` regions, a cycle over them, and an open answers wait
    for each; returns (cycle id, region codes)."""
    from mail.sink import start_sink
    from models.db import migrate, session_scope
    from models.registry import ensure_reference_data, import_regions
    from models.settings import reset_settings
    from services.cycle import create_cycle
    from services.waits import open_wait

    os.environ["PEMANTIK_DEMO"] = "true"  # the shipped example signer and lambang, as in the demo
    os.environ["PEMANTIK_DATA_DIR"] = str(work / "data")
    os.environ["PEMANTIK_DATABASE_URL"] = f"sqlite:///{work / 'data' / 'bench.db'}"
    (work / "data").mkdir(parents=True, exist_ok=True)
    sink = start_sink(work / "mail", port=0)
    os.environ["PEMANTIK_SMTP__PORT"] = str(sink.port)
    reset_settings()
    migrate()
    with NATIONAL_REGIONS.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    step = len(rows) / size
    chosen = [rows[int(i * step)] for i in range(size)]
    regions = work / "wilayah.csv"
    with regions.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(chosen)
    with session_scope() as session:
        ensure_reference_data(session)
        codes = [r.code for r in import_regions(session, regions)]
    cycle = create_cycle(
        {"year": 2026, "start_date": "2026-07-01", "regions": codes}, "bench-siklus"
    )["cycle_id"]
    for code in codes:
        open_wait(kind="jawaban", cycle_id=cycle, region=code, flow_run_id="", key="jawaban-r1-0")
    return cycle, codes


def answers() -> dict:
    from assessment.instruments import load_instrument

    return {
        i.code: {"level": 3, "evidence": f"https://contoh.example/bukti/{i.code}"}
        for i in load_instrument("spbe-2020").indicators
    }


def receipt(cycle: int, code: str, started: float, out: dict) -> None:
    from services import questionnaire

    questionnaire.send_receipt(cycle, code)
    out.setdefault("email", []).append(time.perf_counter() - started)


def run_baseline(cycle: int, codes: list[str], workers: int) -> dict:
    from services import waits

    data = answers()
    out: dict[str, list[float]] = {"submit": []}
    lock = threading.Lock()

    def one(code: str) -> None:
        t0 = time.perf_counter()
        waits.submit(
            "jawaban", region=code, cycle_id=cycle, payload={"data": data}, via="api", who="bench"
        )
        t1 = time.perf_counter()
        with lock:
            out["submit"].append(t1 - t0)
        receipt(cycle, code, t0, out)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, codes))
    return out


def run_portal(cycle: int, codes: list[str], workers: int) -> dict:
    import httpx

    from models.db import session_scope
    from models.settings import reset_settings
    from models.tokens import personal_token
    from portal.server import PortalThread, csrf_in

    os.environ["PEMANTIK_PORTAL__TOKEN_REQUESTS_PER_MINUTE"] = "100000"
    reset_settings()
    portal = PortalThread().start()
    with session_scope() as session:
        tokens = {c: personal_token(session, cycle, "wilayah", region_code=c) for c in codes}
    form = {f"tingkat-{c}": str(v["level"]) for c, v in answers().items()}
    form |= {f"bukti-{c}": v["evidence"] for c, v in answers().items()}
    out: dict[str, list[float]] = {"beranda": [], "kuesioner": [], "submit": []}
    lock = threading.Lock()
    base = portal.url

    def one(code: str) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            t0 = time.perf_counter()
            home = client.get(f"/t/{tokens[code]}")
            t1 = time.perf_counter()
            page = client.get(f"/t/{tokens[code]}/kuesioner")
            t2 = time.perf_counter()
            csrf = csrf_in(page.text)
            sent = client.post(
                f"/t/{tokens[code]}/kuesioner", data={"csrf": csrf, "aksi": "kirim", **form}
            )
            t3 = time.perf_counter()
            assert home.status_code == 200 and sent.status_code == 303, sent.text[:300]
        with lock:
            out["beranda"].append(t1 - t0)
            out["kuesioner"].append(t2 - t1)
            out["submit"].append(t3 - t2)
        receipt(cycle, code, t2, out)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, codes))
    portal.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regions", type=int, default=514)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    results = {}
    for name, runner in (("baseline", run_baseline), ("portal", run_portal)):
        work = Path(tempfile.mkdtemp(prefix=f"pemantik-portal-bench-{name}-"))
        cycle, codes = prepare(work, args.regions)
        t0 = time.perf_counter()
        results[name] = runner(cycle, codes, args.workers)
        results[name]["wall"] = [time.perf_counter() - t0]
        from models.db import dispose_engines

        dispose_engines()
    print(f"{args.regions} submissions, {args.workers} at a time (SQLite, SMTP sink)")
    for name, out in results.items():
        for key in ("beranda", "kuesioner", "submit", "email"):
            if out.get(key):
                v = out[key]
                print(
                    f"  {name:9s} {key:10s} p50 {statistics.median(v):6.3f} s  p95 {p(v, 0.95):6.3f} s"
                )
        print(f"  {name:9s} wall       {out['wall'][0]:6.1f} s")
    base, port = results["baseline"], results["portal"]
    for key in ("submit", "email"):
        extra = p(port[key], 0.95) / p(base[key], 0.95) - 1
        print(f"  portal adds {extra * 100:+.0f}% to the p95 of {key} (goal: < +20%)")


if __name__ == "__main__":
    main()
