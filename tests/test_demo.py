"""The demo end to end, checked from its output files (it starts its own Prefect server)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_out() -> Iterator[Path]:
    # Outside pytest's private temp root: the embedded cluster's own user must reach it.
    out = Path(tempfile.mkdtemp(prefix="pemantik-demo-"))
    env = {
        k: v
        for k, v in __import__("os").environ.items()
        if not k.startswith(("PREFECT_", "PEMANTIK_"))
    }
    proc = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "demo", "--keluar", str(out), "--seed", "7"],
        capture_output=True,
        text=True,
        timeout=1200,
        env=env,
        cwd=Path(__file__).parents[1],
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (out / "stdout.txt").write_text(proc.stdout)
    yield out
    shutil.rmtree(out, ignore_errors=True)


def test_demo_prints_ui_and_progress(demo_out):
    text = (demo_out / "stdout.txt").read_text()
    assert "Prefect UI: http://127.0.0.1:" in text
    assert "menunggu Jawaban kuesioner" in text
    assert "tidak bersedia" in text  # one assessor declined
    assert "ditolak" in text  # invalid answers were refused, then fixed
    assert "terlambat" in text  # the late region got the reminder ladder
    # Some officers answered through the portal over HTTP (the others by email / the UI form).
    assert text.count("mengunggah lembar kuesioner terisi melalui portal") >= 1


def test_results_for_every_region(demo_out):
    data = json.loads((demo_out / "results.json").read_text())
    regions = data["regions"]
    assert len(regions) == 10
    totals = {code: r["total"] for code, r in regions.items()}
    for code, r in regions.items():
        assert r["locked"]
        assert len(r["self_levels"]) == 47 and len(r["final_levels"]) == 47
        assert len(r["assessor_levels"]) == 2
        assert all(1 <= lv <= 5 for lv in r["final_levels"].values())
        assert len(r["dimension_scores"]) == 4
        assert r["predicate"]
        # rank = 1 + number of regions with a strictly higher total (ties share)
        higher = sum(1 for t in totals.values() if round(t, 6) > round(r["total"], 6))
        assert r["rank"] == higher + 1, code


def test_audit_trail_covers_every_step(demo_out):
    with (demo_out / "audit.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    done = {(r["wilayah"], int(r["langkah"])) for r in rows if r["peristiwa"] == "done"}
    regions = {r["wilayah"] for r in rows if r["wilayah"]}
    assert len(regions) == 10
    for region in regions:
        assert {n for (w, n) in done if w == region} >= set(range(1, 14)), region
    assert any(n == 14 for (_, n) in done)
    assert any(r["peristiwa"] == "refused" for r in rows)
    assert any(r["peristiwa"] == "reminder" for r in rows)


def test_mail_and_documents(demo_out):
    from mail.sink import read_maildir

    messages = read_maildir(demo_out / "mail")  # EmailMessage objects, headers decoded
    ids = [m["Message-ID"] for m in messages]
    assert len(ids) == len(set(ids))
    subjects = [str(m["Subject"]) for m in messages]
    assert sum("PEMANTIK-" in s for s in subjects) == len(subjects)
    pemberitahuan = [m for m in messages if "kuesioner" in str(m["Subject"]).lower()]
    assert any(
        part.get_filename() and part.get_filename().endswith(".xlsx")
        for m in pemberitahuan
        for part in m.walk()
    )
    docs = demo_out / "documents"
    kinds = {p.name for p in (docs / next(iter(p.name for p in docs.iterdir()))).iterdir()}
    assert {
        "pemberitahuan",
        "tanda_terima",
        "undangan",
        "permohonan",
        "pengingat",
        "formulir",
        "berita_acara",
        "sk_penetapan",
        "laporan",
        "kuesioner",
    } <= kinds
    year = next(docs.iterdir())
    assert len(list((year / "berita_acara").glob("*.docx"))) == 10
    assert len(list((year / "sk_penetapan").glob("*.docx"))) == 1
    assert len(list((year / "laporan").glob("*.docx"))) == 1


def test_one_calendar_tells_one_story(demo_out):
    """Simulated working days: answers by their due dates (the late region after), reminders
    on the days around the late region's due date, the cycle spread over weeks, the Laporan's
    period from the records."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    wita = ZoneInfo("Asia/Makassar")
    with (demo_out / "audit.csv").open() as fh:
        rows = list(csv.DictReader(fh))

    def day(value: str) -> date:
        return datetime.fromisoformat(value).astimezone(wita).date()

    answers = {
        r["wilayah"]: (day(r["selesai"]), date.fromisoformat(r["tenggat"]))
        for r in rows
        if r["langkah"] == "4" and r["peristiwa"] == "done"
    }
    late = [code for code, (on, due) in answers.items() if on > due]
    assert len(answers) == 10 and len(late) == 1, answers
    reminded = {
        day(r["selesai"])
        for r in rows
        if r["peristiwa"] == "reminder" and r["wilayah"] == late[0] and r["langkah"] == "4"
    }
    assert len(reminded) >= 4 and max(reminded) <= answers[late[0]][0]
    recorded = [day(r["dicatat"]) for r in rows]
    assert (max(recorded) - min(recorded)).days >= 14  # weeks, not one afternoon
    assert all(date.fromisoformat(r["tenggat"]).weekday() < 5 for r in rows if r["tenggat"])
