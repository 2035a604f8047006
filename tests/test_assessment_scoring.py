"""Scores worked out by hand, ranking ties, consensus and the assessor assignment rules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from assessment.assignment import AssignmentError, assign_assessors, pick_replacement
from assessment.instruments import load_instrument
from assessment.scoring import ScoringError, compute_result, rank_results, round_mean

MINI = Path(__file__).parent / "data" / "assessment-mini.yaml"


@pytest.fixture
def mini():
    return load_instrument(MINI)


@pytest.fixture
def spbe():
    return load_instrument("spbe-2020")


def test_mini_by_hand_single_assessor(mini) -> None:
    # D1 = (40·4 + 20·1)/60 = 3.0; D2 = (10·5 + 30·2)/40 = 2.75
    # total = .4·4 + .2·1 + .1·5 + .3·2 = 2.9 → Sedang (2.5 ≤ 2.9 < 3.5)
    levels = {"X1": 4, "X2": 1, "Y1": 5, "Y2": 2}
    r = compute_result(mini, {"X1": 5, "X2": 1, "Y1": 3, "Y2": 2}, {7: levels})
    assert r.final_levels == levels
    assert r.dimension_scores == {"D1": pytest.approx(3.0), "D2": pytest.approx(2.75)}
    assert r.total == pytest.approx(2.9)
    assert r.predicate == "Sedang"
    assert r.differences == {"X1": 1, "X2": 0, "Y1": -2, "Y2": 0}
    assert r.flagged == [] and r.complete


def test_mini_two_assessors_half_up(mini) -> None:
    # means 4.5 → 5, 1.5 → 2 (half up), 5, 2
    # D1 = (40·5 + 20·2)/60 = 4.0; total = 2.0 + .4 + .5 + .6 = 3.5 → Tinggi (exactly the cut-off)
    a = {"X1": 4, "X2": 1, "Y1": 5, "Y2": 2}
    b = {"X1": 5, "X2": 2, "Y1": 5, "Y2": 2}
    r = compute_result(mini, None, {1: a, 2: b})
    assert r.final_levels == {"X1": 5, "X2": 2, "Y1": 5, "Y2": 2}
    assert r.dimension_scores["D1"] == pytest.approx(4.0)
    assert r.total == pytest.approx(3.5)
    assert r.predicate == "Tinggi"
    assert r.differences == {"X1": None, "X2": None, "Y1": None, "Y2": None}


def test_rounding_setting(mini, monkeypatch: pytest.MonkeyPatch) -> None:
    a = {"X1": 2, "X2": 3, "Y1": 1, "Y2": 1}
    b = {"X1": 3, "X2": 4, "Y1": 1, "Y2": 1}
    assert compute_result(mini, None, {1: a, 2: b}).final_levels["X1"] == 3
    monkeypatch.setenv("PEMANTIK_ROUNDING", "half_even")
    r = compute_result(mini, None, {1: a, 2: b})
    assert (r.final_levels["X1"], r.final_levels["X2"]) == (2, 4)  # 2.5 → 2, 3.5 → 4
    monkeypatch.setenv("PEMANTIK_ROUNDING", "down")
    assert compute_result(mini, None, {1: a, 2: b}).final_levels["X2"] == 3


def test_round_mean_three_assessors() -> None:
    assert round_mean(10, 3, "half_up") == 3  # 3.33
    assert round_mean(11, 3, "half_up") == 4  # 3.67


def test_spbe_all_three_is_baik(spbe) -> None:
    levels = {code: 3 for code in spbe.indicator_codes}
    r = compute_result(spbe, levels, {1: levels, 2: levels, 3: levels})
    assert r.total == pytest.approx(3.0)
    assert r.predicate == "Baik"
    assert list(r.dimension_scores.values()) == pytest.approx([3.0] * 4)
    assert set(r.differences.values()) == {0}


def test_spbe_mixed_by_hand(spbe) -> None:
    # D1 (I01–10) at 4, D2 (I11–20) at 3, D3 (I21–31) at 2, D4 (I32–47) at 5:
    # .13·4 + .25·3 + .165·2 + .455·5 = .52 + .75 + .33 + 2.275 = 3.875 → Sangat Baik
    def level(n: int) -> int:
        return 4 if n <= 10 else 3 if n <= 20 else 2 if n <= 31 else 5

    levels = {f"I{n:02d}": level(n) for n in range(1, 48)}
    r = compute_result(spbe, None, {1: levels})
    assert r.total == pytest.approx(3.875)
    assert r.predicate == "Sangat Baik"
    assert r.dimension_scores == {
        "D1": pytest.approx(4),
        "D2": pytest.approx(3),
        "D3": pytest.approx(2),
        "D4": pytest.approx(5),
    }


def test_spbe_mixed_within_a_domain(spbe) -> None:
    # Everything at 1 except A7 (I32–41, 2.75% each) at 2 and A8 (I42–47, 3% each) at 4:
    # total = .13 + .25 + .165 + .275·2 + .18·4 = .545 + .55 + .72 = 1.815 → Cukup (≥ 1.8)
    # D4 = (27.5·2 + 18·4)/45.5 = 127/45.5
    levels = {f"I{n:02d}": 1 if n < 32 else 2 if n <= 41 else 4 for n in range(1, 48)}
    r = compute_result(spbe, None, {1: levels})
    assert r.total == pytest.approx(1.815)
    assert r.predicate == "Cukup"
    assert r.dimension_scores["D4"] == pytest.approx(127 / 45.5)
    levels["I42"] = 3  # one indicator down: − 0.03 → 1.785 → Kurang
    r = compute_result(spbe, None, {1: levels})
    assert r.total == pytest.approx(1.785)
    assert r.predicate == "Kurang"


def test_divergence_is_flagged_and_consensus_decides(mini) -> None:
    a = {"X1": 1, "X2": 2, "Y1": 3, "Y2": 3}
    b = {"X1": 4, "X2": 3, "Y1": 3, "Y2": 3}  # X1 differs by 3 > 1; X2 by 1 (allowed)
    r = compute_result(mini, None, {1: a, 2: b})
    assert r.flagged == ["X1"] and r.needs_consensus == ["X1"] and not r.complete
    assert r.spreads["X1"] == 3
    with pytest.raises(ScoringError, match="catatan"):
        compute_result(mini, None, {1: a, 2: b}, {"X1": {"level": 3, "note": " "}})
    with pytest.raises(ScoringError, match="di luar skala"):
        compute_result(mini, None, {1: a, 2: b}, {"X1": {"level": 6, "note": "rapat"}})
    r = compute_result(mini, None, {1: a, 2: b}, {"X1": {"level": 3, "note": "hasil rapat"}})
    assert r.complete and r.flagged == ["X1"]
    assert r.final_levels == {"X1": 3, "X2": 3, "Y1": 3, "Y2": 3}  # X2: 2.5 → 3
    assert r.total == pytest.approx(3.0)


def test_spread_setting(mini, monkeypatch: pytest.MonkeyPatch) -> None:
    a = {"X1": 1, "X2": 2, "Y1": 3, "Y2": 3}
    b = {"X1": 3, "X2": 2, "Y1": 3, "Y2": 3}
    assert compute_result(mini, None, {1: a, 2: b}).flagged == ["X1"]
    monkeypatch.setenv("PEMANTIK_CONSENSUS_MAX_SPREAD", "2")
    assert compute_result(mini, None, {1: a, 2: b}).flagged == []
    monkeypatch.setenv("PEMANTIK_CONSENSUS_MAX_SPREAD", "0")
    assert compute_result(mini, None, {1: a, 2: {**a, "Y2": 4}}).flagged == ["Y2"]


def test_unscored_indicator_and_off_scale(mini) -> None:
    with pytest.raises(ScoringError) as exc:
        compute_result(mini, None, {1: {"X1": 9, "X2": 1, "Y1": 1}})
    text = str(exc.value)
    assert "Asesor 1, indikator X1: tingkat 9 di luar skala 1–5" in text
    assert "Indikator Y2: belum dinilai" in text


def test_ranking_ties_share_a_rank() -> None:
    totals = {"64.01": 3.2, "64.02": 3.9, "64.03": 3.2, "64.04": 2.0, "64.05": 3.9, "64.06": 1}
    assert rank_results(totals) == {
        "64.02": 1,
        "64.05": 1,
        "64.01": 3,
        "64.03": 3,
        "64.04": 5,
        "64.06": 6,
    }
    # float noise must not split a tie: 0.1+0.2 vs 0.3
    assert rank_results({"a": 0.1 + 0.2, "b": 0.3, "c": 0.2}) == {"a": 1, "b": 1, "c": 3}
    assert rank_results({}) == {}


def test_ranking_from_results(mini) -> None:
    lv = {"X1": 3, "X2": 3, "Y1": 3, "Y2": 3}
    r1 = compute_result(mini, None, {1: lv}, region_code="64.71")
    r2 = compute_result(mini, None, {1: {**lv, "Y2": 4}}, region_code="64.72")
    r3 = compute_result(mini, None, {1: lv}, region_code="64.01")
    assert rank_results([r1, r2, r3]) == {"64.72": 1, "64.01": 2, "64.71": 2}


@dataclass
class A:
    id: int
    home_region_code: str | None = None
    active: bool = True


REGIONS = ["64.01", "64.02", "64.03", "64.71", "64.72"]


def test_assignment_even_and_deterministic() -> None:
    pool = [A(1, "64.72"), A(2, "64.71"), A(3), A(4, "64.72"), A(5)]
    plan = assign_assessors(pool, REGIONS, per_region=2)
    assert list(plan) == REGIONS
    assert all(len(set(ids)) == 2 for ids in plan.values())
    load = {a.id: sum(a.id in ids for ids in plan.values()) for a in pool}
    assert max(load.values()) - min(load.values()) <= 1 and sum(load.values()) == 10
    assert plan == assign_assessors(list(reversed(pool)), REGIONS, per_region=2)


def test_assignment_never_home_region() -> None:
    pool = [A(1, "64.72"), A(2, "64.72"), A(3, "64.71"), A(4, "64.71"), A(5), A(6)]
    plan = assign_assessors(pool, REGIONS, per_region=3)
    homes = {a.id: a.home_region_code for a in pool}
    for region, ids in plan.items():
        assert all(homes[i] != region for i in ids), region
    assert set(plan["64.72"]) <= {3, 4, 5, 6}


def test_assignment_impossible_is_explained() -> None:
    pool = [A(1, "64.72"), A(2), A(3, "64.72", active=False)]
    with pytest.raises(AssignmentError) as exc:
        assign_assessors(pool, ["64.71", "64.72"], per_region=2)
    assert "wilayah 64.72: hanya 1 asesor tanpa konflik kepentingan, dibutuhkan 2" in str(exc.value)
    assert "64.71" not in str(exc.value)


def test_assignment_respects_existing_load() -> None:
    pool = [A(1), A(2), A(3)]
    plan = assign_assessors(pool, ["64.01"], per_region=2, existing_load={1: 5})
    assert plan == {"64.01": [2, 3]}


def test_pick_replacement() -> None:
    pool = [A(1, "64.72"), A(2), A(3), A(4)]
    assert pick_replacement(pool, "64.72", exclude_ids=[2], load={3: 2, 4: 1}) == 4
    assert pick_replacement(pool, "64.71", exclude_ids=[2, 3, 4], load={}) == 1
    with pytest.raises(AssignmentError, match="64.72"):
        pick_replacement(pool, "64.72", exclude_ids=[2, 3, 4], load={})
