"""Assessors' scores, blindness, final result, ranking in the cycle, and the lock with its audit."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from assessment.answers import validate_and_store
from assessment.instruments import load_instrument
from assessment.results import (
    ConsensusRequiredError,
    ResultLockedError,
    finalize_result,
    lock_result,
    missing_assessors,
    scores_visible_to,
    submit_scores,
    unlock_result,
)
from assessment.scoring import ScoringError
from models.tables import Assessor, Cycle, Region, Result, Score, StepRecord

MINI = Path(__file__).parent / "data" / "assessment-mini.yaml"


@pytest.fixture
def mini():
    return load_instrument(MINI)


@pytest.fixture
def world(session):
    for code, name in (
        ("64.72", "Kota Samarinda"),
        ("64.71", "Kota Balikpapan"),
        ("64.01", "Paser"),
    ):
        session.add(Region(code=code, name=name, pic_name="PIC", pic_email=f"p{code}@x.id"))
    session.flush()
    people = [
        Assessor(name="Asesor Satu", email="a1@x.id", home_region_code="64.72"),
        Assessor(name="Asesor Dua", email="a2@x.id"),
        Assessor(name="Asesor Tiga", email="a3@x.id", home_region_code="64.01"),
    ]
    cycle = Cycle(year=2026, instrument_code="mini", start_date=date(2026, 7, 1))
    session.add_all([*people, cycle])
    session.flush()
    return cycle, people


def lv(x1: int, x2: int, y1: int, y2: int, note: str = "") -> dict:
    return {
        code: {"level": level, "note": note}
        for code, level in zip(("X1", "X2", "Y1", "Y2"), (x1, x2, y1, y2), strict=True)
    }


def test_submit_validated_and_conflict_refused(session, world, mini) -> None:
    cycle, (a1, a2, _a3) = world
    with pytest.raises(ScoringError, match="konflik kepentingan"):
        submit_scores(
            session,
            cycle_id=cycle.id,
            region_code="64.72",
            assessor_id=a1.id,
            scores=lv(3, 3, 3, 3),
            instrument=mini,
        )
    bad = lv(3, 3, 3, 3)
    bad["X1"]["level"] = 6
    del bad["Y2"]
    with pytest.raises(ScoringError) as exc:
        submit_scores(
            session,
            cycle_id=cycle.id,
            region_code="64.72",
            assessor_id=a2.id,
            scores=bad,
            instrument=mini,
        )
    assert exc.value.errors == [
        "Indikator X1: tingkat 6 di luar skala 1–5",
        "Indikator Y2: tingkat belum diisi",
    ]
    assert session.exec(select(Score)).all() == []


def test_blind_until_submitted(session, world, mini) -> None:
    cycle, (a1, a2, a3) = world
    kw = {"cycle_id": cycle.id, "region_code": "64.71", "instrument": mini}
    assert missing_assessors(session, cycle.id, "64.71", [a1.id, a2.id]) == [a1.id, a2.id]
    submit_scores(session, assessor_id=a1.id, scores=lv(4, 1, 5, 2, "cek"), **kw)
    # a2 has not submitted: sees nothing of a1's levels
    assert scores_visible_to(session, cycle.id, "64.71", a2.id) == {}
    assert set(scores_visible_to(session, cycle.id, "64.71", a1.id)) == {a1.id}
    assert missing_assessors(session, cycle.id, "64.71", [a1.id, a2.id]) == [a2.id]
    submit_scores(session, assessor_id=a2.id, scores=lv(5, 2, 5, 2), **kw)
    seen = scores_visible_to(session, cycle.id, "64.71", a2.id)
    assert seen[a1.id]["X1"] == {"level": 4, "note": "cek"}
    assert seen[a2.id]["X1"]["level"] == 5
    assert missing_assessors(session, cycle.id, "64.71", [a1.id, a2.id]) == []
    # a resubmission replaces the assessor's earlier levels
    submit_scores(session, assessor_id=a2.id, scores=lv(4, 2, 5, 2), **kw)
    assert scores_visible_to(session, cycle.id, "64.71", a1.id)[a2.id]["X1"]["level"] == 4
    assert len(session.exec(select(Score)).all()) == 8


def test_finalize_consensus_rank_lock(session, world, mini) -> None:
    cycle, (a1, a2, a3) = world
    # 64.71: self-assessment, then two assessors; X1 diverges (1 vs 4)
    validate_and_store(
        session,
        mini,
        cycle_id=cycle.id,
        region_code="64.71",
        source="json",
        submitted_by="pic",
        data={c: {"level": 4, "evidence": "b"} for c in mini.indicator_codes},
    )
    kw = {"cycle_id": cycle.id, "instrument": mini}
    submit_scores(session, region_code="64.71", assessor_id=a1.id, scores=lv(1, 2, 3, 3), **kw)
    submit_scores(session, region_code="64.71", assessor_id=a2.id, scores=lv(4, 3, 3, 3), **kw)
    with pytest.raises(ConsensusRequiredError) as exc:
        finalize_result(session, cycle.id, "64.71", mini)
    assert exc.value.errors == [
        "Indikator X1: tingkat asesor 1, 4 (selisih melebihi batas; isi tingkat konsensus "
        "beserta catatan)"
    ]
    assert session.exec(select(Result)).all() == []
    r71 = finalize_result(
        session, cycle.id, "64.71", mini, consensus={"X1": {"level": 3, "note": "rapat asesor"}}
    )
    # final X1=3 (consensus), X2=2.5→3, Y1=3, Y2=3 → total 3.0, D1 3.0, D2 3.0
    assert r71.final_levels == {"X1": 3, "X2": 3, "Y1": 3, "Y2": 3}
    assert r71.total == pytest.approx(3.0) and r71.predicate == "Sedang"
    assert r71.consensus == {"X1": {"level": 3, "note": "rapat asesor"}}
    assert r71.rank == 1
    # 64.01: a3 is from 64.01, so a1 and a2 assess it; same total → shared rank
    submit_scores(session, region_code="64.01", assessor_id=a1.id, scores=lv(3, 3, 3, 3), **kw)
    r01 = finalize_result(session, cycle.id, "64.01", mini)
    assert (r01.rank, r71.rank) == (1, 1)
    # 64.72 higher: X1=5 → total 3.8 → Tinggi, rank 1; the others move to 2, 2
    submit_scores(session, region_code="64.72", assessor_id=a3.id, scores=lv(5, 3, 3, 3), **kw)
    r72 = finalize_result(session, cycle.id, "64.72", mini)
    assert r72.total == pytest.approx(3.8) and r72.predicate == "Tinggi"
    ranks = {r.region_code: r.rank for r in session.exec(select(Result))}
    assert ranks == {"64.72": 1, "64.71": 2, "64.01": 2}

    # lock: scores and result refuse changes
    lock_result(session, cycle.id, "64.71", who="admin")
    with pytest.raises(ResultLockedError, match="sudah dikunci"):
        submit_scores(session, region_code="64.71", assessor_id=a2.id, scores=lv(1, 1, 1, 1), **kw)
    with pytest.raises(ResultLockedError):
        finalize_result(session, cycle.id, "64.71", mini)
    with pytest.raises(ScoringError, match="Alasan"):
        unlock_result(session, cycle.id, "64.71", reason="  ", who="admin")
    assert session.get(Result, r71.id).locked
    unlock_result(session, cycle.id, "64.71", reason="Salah ketik nilai X2", who="Budi")
    submit_scores(session, region_code="64.71", assessor_id=a2.id, scores=lv(4, 3, 3, 4), **kw)
    r71 = finalize_result(session, cycle.id, "64.71", mini)  # stored consensus still applies
    # X1 = 3 (consensus), X2 = (2+3)/2 → 3, Y1 = 3, Y2 = (3+4)/2 → 4
    # total = .4·3 + .2·3 + .1·3 + .3·4 = 3.3
    assert r71.final_levels == {"X1": 3, "X2": 3, "Y1": 3, "Y2": 4} and not r71.locked
    assert r71.total == pytest.approx(3.3)
    assert {r.region_code: r.rank for r in session.exec(select(Result))} == {
        "64.72": 1,
        "64.71": 2,
        "64.01": 3,
    }
    audit = session.exec(
        select(StepRecord).where(StepRecord.region_code == "64.71").order_by(StepRecord.id)
    ).all()
    assert [(a.event, a.step_no, a.who) for a in audit] == [
        ("locked", 13, "admin"),
        ("unlocked", 13, "Budi"),
    ]
    assert audit[1].detail["reason"] == "Salah ketik nilai X2"


def test_lock_requires_a_result(session, world) -> None:
    cycle, _ = world
    with pytest.raises(ScoringError, match="belum ditetapkan"):
        lock_result(session, cycle.id, "64.72", who="admin")
    with pytest.raises(ScoringError, match="tidak dalam keadaan terkunci"):
        unlock_result(session, cycle.id, "64.72", reason="x", who="admin")


def test_finalize_without_scores(session, world, mini) -> None:
    cycle, _ = world
    with pytest.raises(ScoringError, match="Belum ada nilai asesor untuk wilayah 64.72"):
        finalize_result(session, cycle.id, "64.72", mini)
