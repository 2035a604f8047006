"""The final result of a region from the assessors' levels (steps 11–12). Pure: no database.

Rule per indicator:
- the assessors' levels are compared; when the highest and lowest differ by more than
  ``consensus_max_spread`` (setting, default 1) the indicator is *flagged* and its final level
  must be a consensus level entered with a note;
- otherwise the final level is the assessors' mean, rounded with the ``rounding`` setting
  (default ``half_up``: 2.5 → 3, 3.5 → 4; ``half_even``: 2.5 → 2; ``down``; ``up``);
- a consensus level given for any indicator (flagged or not) is taken as the final level.

Scores: a dimension's score is the weighted mean of its indicators' final levels (on the level
scale); the total index is Σ weight × level with weights as fractions of 1 (so it is on the level
scale too: all indicators at 3 → 3.0); the predicate comes from the instrument's cut-offs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from assessment.instruments import Instrument
from assessment.settings import Rounding, assessment_settings

DECIMALS = 6  # totals are rounded here so float noise never splits a tie


class ScoringError(ValueError):
    """Scores or consensus refused; ``errors`` lists every problem naming the indicator."""

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        self.errors = errors or []
        text = message + ("\n  " + "\n  ".join(self.errors) if self.errors else "")
        super().__init__(text)


@dataclass
class RegionResult:
    region_code: str
    final_levels: dict[str, int]
    assessor_mean: dict[str, float]
    flagged: list[str]  # spread above the limit
    needs_consensus: list[str]  # flagged and still without a consensus level
    consensus: dict[str, dict[str, Any]]
    dimension_scores: dict[str, float]
    total: float
    predicate: str
    differences: dict[str, int | None]  # self level − final level (None: no self level)
    spreads: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.needs_consensus


def round_mean(total: int, count: int, rounding: Rounding) -> int:
    """``total / count`` rounded exactly (integer arithmetic, no float error at .5)."""
    if rounding == "half_up":
        return (2 * total + count) // (2 * count)
    if rounding == "half_even":
        return round(Fraction(total, count))
    if rounding == "down":
        return total // count
    return -(-total // count)


def _check_consensus(
    instrument: Instrument, consensus: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    errors = []
    clean: dict[str, dict[str, Any]] = {}
    known = set(instrument.indicator_codes)
    for code, item in consensus.items():
        if code not in known:
            errors.append(f"Indikator '{code}': tidak ada dalam instrumen {instrument.code}")
            continue
        level = item.get("level") if isinstance(item, Mapping) else None
        note = str(item.get("note") or "").strip() if isinstance(item, Mapping) else ""
        if isinstance(level, bool) or not isinstance(level, int) or not instrument.on_scale(level):
            errors.append(
                f"Indikator {code}: tingkat konsensus '{level}' di luar skala {instrument.scale_text}"
            )
        elif not note:
            errors.append(f"Indikator {code}: tingkat konsensus wajib disertai catatan")
        else:
            clean[code] = {"level": level, "note": note}
    if errors:
        raise ScoringError("Konsensus ditolak:", errors)
    return clean


def weighted_scores(
    instrument: Instrument, levels: Mapping[str, int]
) -> tuple[dict[str, float], float]:
    """(dimension scores, total index) for complete final levels."""
    dims: dict[str, float] = {}
    total = 0.0
    for dim in instrument.dimensions:
        inds = dim.indicators
        weight = sum(i.weight for i in inds)
        dims[dim.code] = round(sum(i.weight * levels[i.code] for i in inds) / weight, DECIMALS)
        total += sum(i.weight / 100.0 * levels[i.code] for i in inds)
    return dims, round(total, DECIMALS)


def compute_result(
    instrument: Instrument,
    self_levels: Mapping[str, int] | None,
    assessor_levels: Mapping[int, Mapping[str, int]],
    consensus: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    region_code: str = "",
    max_spread: int | None = None,
    rounding: Rounding | None = None,
) -> RegionResult:
    """A region's result; see the module docstring for the rule.

    A flagged indicator without consensus gets the rounded mean *provisionally* and is listed in
    ``needs_consensus``; :func:`assessment.results.finalize_result` refuses such a result.
    """
    cfg = assessment_settings() if max_spread is None or rounding is None else None
    max_spread = cfg.consensus_max_spread if max_spread is None else max_spread
    rounding = cfg.rounding if rounding is None else rounding
    agreed = _check_consensus(instrument, consensus or {})
    errors = []
    for aid, levels in assessor_levels.items():
        for code, level in levels.items():
            if not isinstance(level, int) or not instrument.on_scale(level):
                errors.append(
                    f"Asesor {aid}, indikator {code}: tingkat {level} di luar skala "
                    f"{instrument.scale_text}"
                )
    final: dict[str, int] = {}
    means: dict[str, float] = {}
    spreads: dict[str, int] = {}
    flagged: list[str] = []
    missing: list[str] = []
    for ind in instrument.indicators:
        given = [lv[ind.code] for lv in assessor_levels.values() if ind.code in lv]
        if not given:
            if ind.code in agreed:
                final[ind.code] = agreed[ind.code]["level"]
            else:
                errors.append(f"Indikator {ind.code}: belum dinilai oleh asesor mana pun")
            continue
        total_given, count = sum(given), len(given)
        means[ind.code] = total_given / count
        spreads[ind.code] = max(given) - min(given)
        if spreads[ind.code] > max_spread:
            flagged.append(ind.code)
            if ind.code not in agreed:
                missing.append(ind.code)
        if ind.code in agreed:
            final[ind.code] = agreed[ind.code]["level"]
        else:
            final[ind.code] = round_mean(total_given, count, rounding)
    if errors:
        raise ScoringError("Nilai asesor tidak lengkap atau tidak sah:", errors)
    dims, total = weighted_scores(instrument, final)
    differences = {
        code: (self_levels[code] - level) if self_levels and code in self_levels else None
        for code, level in final.items()
    }
    return RegionResult(
        region_code=region_code,
        final_levels=final,
        assessor_mean=means,
        flagged=flagged,
        needs_consensus=missing,
        consensus=agreed,
        dimension_scores=dims,
        total=total,
        predicate=instrument.predicate_for(total),
        differences=differences,
        spreads=spreads,
    )


def rank_results(results: Iterable[Any] | Mapping[str, float]) -> dict[str, int]:
    """Competition ranking by total, highest first; equal totals share a rank (1, 2, 2, 4).

    Accepts objects with ``region_code`` and ``total`` (RegionResult, Result rows) or a mapping
    ``{region_code: total}``. Equal totals at the same rank are listed by region code.
    """
    if isinstance(results, Mapping):
        totals = {code: float(total) for code, total in results.items()}
    else:
        totals = {r.region_code: float(r.total) for r in results}
    ordered = sorted(totals.items(), key=lambda kv: (-round(kv[1], DECIMALS), kv[0]))
    ranks: dict[str, int] = {}
    previous: float | None = None
    for position, (code, total) in enumerate(ordered, start=1):
        key = round(total, DECIMALS)
        if previous is None or key != previous:
            rank = position
            previous = key
        ranks[code] = rank
    return ranks
