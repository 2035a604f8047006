"""Scale benchmark: whole cycles (the demo's simulated people) for 10, 50, 100 and 514 regions.

    .venv/bin/python benchmarks/scale_bench.py [--sizes 10,50,100,514] [--no-floor]

For each size it runs ``pemantik demo`` on the embedded defaults with that many regions (10: the
shipped Kalimantan Timur list; larger: Kab/Kota spread over the whole of Indonesia, from
``benchmarks/data/regions-indonesia.csv``) and prints the wall time, the CPU seconds per region
(every process: the Prefect server, ``pemantik serve``, the simulated people, LibreOffice), the
peak memory of all processes together (the sum of their RSS, as asked; and PSS, each shared page
counted once — what they take from the machine) and the Prefect server's share of the CPU.

The baseline, measured in the same run for the same size, is *Prefect alone*: one flow run per
region that makes as many task runs and suspends as the product's region runs made (counted
from the Prefect API after the product's cycle), served by the same in-process runner against
the same kind of server, and resumed as soon as it suspends — what Prefect itself costs for that
cycle, with none of the product's work. Goals (2 cores): 514 regions in < 15 min and < 2 GiB.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.proc_sampler import measure  # noqa: E402

NATIONAL_REGIONS = ROOT / "benchmarks" / "data" / "regions-indonesia.csv"
NATIONAL_ASSESSORS = ROOT / "benchmarks" / "data" / "assessors-indonesia.csv"
GIB = 1024**3


def region_files(size: int, work: Path) -> tuple[Path | None, Path | None]:
    """The region and assessor files for ``size`` regions (None, None: the shipped Kaltim)."""
    if size == 10:
        return None, None
    with NATIONAL_REGIONS.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    step = len(rows) / size
    chosen = [rows[int(i * step)] for i in range(size)]
    codes = {r["kode"] for r in chosen}
    regions = work / f"wilayah-{size}.csv"
    with regions.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(chosen)
    with NATIONAL_ASSESSORS.open(encoding="utf-8") as fh:
        pool = list(csv.DictReader(fh))[: max(6, size // 5)]
    for person in pool:
        if person["wilayah_asal"] not in codes:
            person["wilayah_asal"] = ""
    assessors = work / f"asesor-{size}.csv"
    with assessors.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(pool[0]))
        writer.writeheader()
        writer.writerows(pool)
    return regions, assessors


def _measured(label: str, command: list[str], log: Path, folder: Path) -> dict:
    """Run one cycle command in a clean environment (its own engine, in ``folder``) and measure
    it, the embedded PostgreSQL it starts included."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PEMANTIK_"))}
    env["PYTHONPATH"] = str(ROOT)
    result = measure(command, env, ROOT, log, timeout=4 * 3600, outside=str(folder))
    if result["code"] != 0:
        raise SystemExit(f"{label} failed:\n{log.read_text()[-3000:]}")
    return result


def run_product(size: int, work: Path) -> dict:
    regions, assessors = region_files(size, work)
    out = work / f"demo-{size}"
    command = [sys.executable, "-m", "deployments.cli", "demo", "--keluar", str(out)]
    if regions is not None:
        command += ["--wilayah", str(regions), "--asesor", str(assessors)]
    result = _measured(f"demo with {size} regions", command, work / f"demo-{size}.log", out)
    result["shape"] = json.loads((out / "prefect-shape.json").read_text())
    return result


def run_floor(size: int, shape: dict, work: Path) -> dict:
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "prefect_floor.py"),
        "--regions",
        str(size),
        "--shape",
        json.dumps(shape),
        "--work",
        str(work / f"floor-{size}"),
    ]
    folder = work / f"floor-{size}"
    return _measured(
        f"Prefect alone with {size} regions", command, work / f"floor-{size}.log", folder
    )


def describe(label: str, size: int, r: dict) -> str:
    server = r["cpu_by_kind"].get("prefect-server", 0.0)
    share = server / r["cpu_s"] if r["cpu_s"] else 0.0
    return (
        f"{label:<16}{size:>6}{r['wall_s']:>10.1f}{r['cpu_s'] / size:>14.2f}"
        f"{r['peak_rss'] / GIB:>12.2f}{share:>12.0%}{r['peak_pss'] / GIB:>10.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,50,100,514")
    parser.add_argument("--no-floor", action="store_true", help="skip the Prefect-alone baseline")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="pemantik-scale-"))
    print(f"work folder: {work}", flush=True)
    header = (
        f"{'run':<16}{'regions':>6}{'wall s':>10}{'CPU-s/region':>14}{'RSS GiB':>12}"
        f"{'server CPU':>12}{'PSS GiB':>10}"
    )
    rows: list[str] = []
    for size in sizes:
        product = run_product(size, work)
        rows.append(describe("pemantik", size, product))
        by_kind = ", ".join(f"{k} {v:.0f} s" for k, v in sorted(product["cpu_by_kind"].items()))
        rows.append(f"{'':<16}CPU by process: {by_kind}; total {product['cpu_s']:.0f} s")
        peaks = ", ".join(
            f"{k} {v / GIB:.2f}" for k, v in sorted(product["peak_rss_by_kind"].items())
        )
        rows.append(f"{'':<16}peak GiB by process (each at its own peak): {peaks}")
        rows.append(f"{'':<16}Prefect work per region: {product['shape']['per_region']}")
        if not args.no_floor:
            floor = run_floor(size, product["shape"], work)
            rows.append(describe("Prefect alone", size, floor))
            rows.append(
                f"{'':<16}ratio pemantik / Prefect alone: wall "
                f"{product['wall_s'] / floor['wall_s']:.1f}×, CPU "
                f"{product['cpu_s'] / floor['cpu_s']:.1f}×"
            )
        print(header, *rows, sep="\n", flush=True)
        print(flush=True)
    print("Goals (2 cores): 514 regions < 900 s wall and < 2 GiB; the 10-region demo < 60 s.")


if __name__ == "__main__":
    main()
