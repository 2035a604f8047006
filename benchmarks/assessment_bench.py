"""Benchmark: import+validate 514 filled Lembar Kuesioner, and score 514 regions × 47 × 3.

Run: .venv/bin/python benchmarks/assessment_bench.py [--regions 514] [--keep DIR]

Figures printed:
1. import: assessment.answers.parse_workbook (read-only openpyxl + all checks) per workbook,
   against the baseline of openpyxl's plain ``load_workbook(path)`` (not read-only, no checks)
   of the same files in the same run.
2. scoring: assessment.scoring.compute_result (validation, spread/consensus rule, exact
   half-up rounding, dimension scores, predicate) + rank_results for all regions, against a
   naive pure-python recomputation (mean, float half-up, weighted sum, sort) in the same run.
3. database: store 514 × 47 × 3 scores with submit_scores and finalize every region
   (SQLite in a temp folder), ranking once at the end.
Workbook generation (build + fill) is timed separately and not part of the import figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openpyxl  # noqa: E402

from assessment.answers import parse_workbook  # noqa: E402
from assessment.instruments import load_instrument  # noqa: E402
from assessment.scoring import compute_result, rank_results  # noqa: E402
from assessment.workbook import META_SHEET, build_questionnaire  # noqa: E402


def region_codes(n: int) -> list[str]:
    return [f"{90 + i // 100:02d}.{i % 100:02d}" for i in range(n)]


def generate(inst, folder: Path, codes: list[str], rng: random.Random) -> list[Path]:
    paths = []
    for code in codes:
        blank = build_questionnaire(
            inst,
            cycle_year=2026,
            cycle_id=1,
            region_code=code,
            region_name=f"Wilayah {code}",
            out_path=folder / f"kosong-{code}.xlsx",
        )
        wb = openpyxl.load_workbook(blank)
        from assessment.workbook import fill_identity

        fill_identity(wb)
        meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
        for ind, (sheet, row) in json.loads(meta["layout"]).items():
            ws = wb[sheet]
            ws.cell(row=row, column=4, value=rng.randint(1, 5))
            ws.cell(row=row, column=5, value=f"https://bukti.example/{code}/{ind}")
        out = folder / f"jawaban-{code}.xlsx"
        wb.save(out)
        blank.unlink()
        paths.append(out)
    return paths


def naive_scores(inst, assessor_levels: dict[str, dict[int, dict[str, int]]]) -> dict[str, int]:
    weights = {i.code: i.weight / 100 for i in inst.indicators}
    totals = {}
    for region, by_assessor in assessor_levels.items():
        total = 0.0
        for code, w in weights.items():
            given = [lv[code] for lv in by_assessor.values()]
            total += w * int(sum(given) / len(given) + 0.5)
        totals[region] = total
    ordered = sorted(totals, key=lambda c: -totals[c])
    return {c: n for n, c in enumerate(ordered, start=1)}


def bench_db(inst, assessor_levels, workdir: Path) -> tuple[float, float]:
    os.environ["PEMANTIK_DATABASE_URL"] = f"sqlite:///{workdir / 'bench.db'}"
    from models.db import migrate, session_scope
    from models.settings import reset_settings
    from models.tables import Assessor, Cycle, Region

    reset_settings()
    url = os.environ["PEMANTIK_DATABASE_URL"]
    migrate(url)
    with session_scope(url) as s:
        s.add_all(
            Region(code=c, name=f"Wilayah {c}", pic_name="PIC", pic_email="p@x.id")
            for c in assessor_levels
        )
        s.flush()
        s.add_all(Assessor(id=i, name=f"Asesor {i}", email=f"a{i}@x.id") for i in (1, 2, 3))
        s.add(Cycle(id=1, year=2026, instrument_code=inst.code, start_date=date(2026, 7, 1)))
    from assessment.results import finalize_result, rerank_cycle, submit_scores

    t0 = time.perf_counter()
    with session_scope(url) as s:
        for region, by_assessor in assessor_levels.items():
            for aid, levels in by_assessor.items():
                submit_scores(
                    s,
                    cycle_id=1,
                    region_code=region,
                    assessor_id=aid,
                    scores={c: {"level": lv, "note": ""} for c, lv in levels.items()},
                    instrument=inst,
                )
    t_submit = time.perf_counter() - t0
    t0 = time.perf_counter()
    with session_scope(url) as s:
        for region in assessor_levels:
            finalize_result(s, 1, region, inst, rerank=False)
        rerank_cycle(s, 1)
    return t_submit, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regions", type=int, default=514)
    parser.add_argument("--keep", type=Path, help="reuse/keep generated workbooks in this folder")
    args = parser.parse_args()
    n = args.regions
    inst = load_instrument("spbe-2020")
    rng = random.Random(20260701)
    codes = region_codes(n)
    tmp = tempfile.TemporaryDirectory(prefix="pemantik-bench-")
    os.environ["PEMANTIK_DATA_DIR"] = tmp.name
    folder = args.keep or Path(tmp.name)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"jawaban-{c}.xlsx" for c in codes]
    t0 = time.perf_counter()
    if not all(p.is_file() for p in paths):
        paths = generate(inst, folder, codes, rng)
    t_gen = time.perf_counter() - t0
    print(f"generate {n} filled workbooks: {t_gen:.1f} s (not part of the figures below)")

    t0 = time.perf_counter()
    for p in paths:
        openpyxl.load_workbook(p)
    t_base = time.perf_counter() - t0
    t0 = time.perf_counter()
    for p, code in zip(paths, codes, strict=True):
        payload = parse_workbook(p, inst, cycle_id=1, region_code=code)
        assert len(payload.answers) == 47
    t_import = time.perf_counter() - t0
    print(
        f"import+validate {n} workbooks: {t_import:.2f} s = {t_import / n * 1000:.1f} ms/workbook"
        f"  | baseline openpyxl load_workbook: {t_base:.2f} s = {t_base / n * 1000:.1f} ms"
        f"  | ratio ours/baseline {t_import / t_base:.2f}"
    )

    # assessors within one level of each other (no consensus needed, as is typical)
    base = {c: {code: rng.randint(1, 4) for code in inst.indicator_codes} for c in codes}
    levels = {
        c: {a: {code: lv + rng.randint(0, 1) for code, lv in base[c].items()} for a in (1, 2, 3)}
        for c in codes
    }
    t0 = time.perf_counter()
    results = [compute_result(inst, None, by_a, region_code=c) for c, by_a in levels.items()]
    ranks = rank_results(results)
    t_score = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = naive_scores(inst, levels)
    t_naive = time.perf_counter() - t0
    assert len(ranks) == len(naive) == n
    items = n * 47 * 3
    print(
        f"score {n} regions x 47 indicators x 3 assessors ({items} levels): {t_score:.3f} s = "
        f"{t_score / n * 1000:.2f} ms/region, {t_score / items * 1e6:.2f} us/level"
        f"  | naive pure-python: {t_naive:.3f} s  | ratio ours/naive {t_score / t_naive:.1f}"
    )
    t_submit, t_final = bench_db(inst, levels, Path(tmp.name))
    print(
        f"database (SQLite): submit {n * 3} score sets: {t_submit:.2f} s = "
        f"{t_submit / (n * 3) * 1000:.1f} ms/set; finalize {n} results + rank once: "
        f"{t_final:.2f} s = {t_final / n * 1000:.1f} ms/region"
    )
    tmp.cleanup()


if __name__ == "__main__":
    main()
