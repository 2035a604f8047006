"""The final result of a region from the assessors' levels (steps 11–12). Pure: no database.

Rule per indicator:
- the assessors' levels are compared; when the highest and lowest differ by more than
  ``consensus_max_spread`` (setting, default 1) the indicator is *flagged* and its final level
  must be a consensus level entered with a note;
- otherwise the final level is the assessors' mean, rounded with the ``rounding`` setting
  (default ``half_up``: 2.5 → 3, 3.5 → 4; ``half_even``: 2.5 → 2; ``down``; ``up``);
- a consensus level given for any indicator (flagged or not) is taken as the final level.

Scores (:func:`figures`, in :class:`~decimal.Decimal` so no binary float decides a rounding): a
dimension's score is the weighted mean of its indicators' final levels (on the level scale, kept
to ``PLACES`` decimals, half up); its weighted share is Σ weight × level / 100, exact; the total
index is the sum of the shares (so it is on the level scale too: all indicators at 3 → 3.0) and
equals what a reader adds up from a document's rows. The predicate comes from the instrument's
cut-offs. Documents print with :func:`letters.formats.decimal_comma` (half up: 3.425 → 3,43).

Ranking (:func:`rank_table`): highest total first; equal totals are broken by the rule of the
``tie_break`` setting, stated in words by :func:`tie_rule_text` wherever ranks are printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from assessment.instruments import Instrument
from assessment.settings import Rounding, TieBreak, assessment_settings
from letters.formats import as_decimal, decimal_comma, half_up

PLACES = 6  # a dimension score (a weighted mean) is kept to 6 decimals; totals compare at 6 too


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


@dataclass(frozen=True)
class DimensionFigure:
    """One dimension's figures: ``weight`` (% of the total), ``score`` (weighted mean of its
    levels, on the level scale) and ``weighted`` (its share of the total, Σ weight × level / 100)."""

    code: str
    name: str
    weight: Decimal
    score: Decimal
    weighted: Decimal


@dataclass(frozen=True)
class Figures:
    """The exact figures of a set of final levels; ``total`` is the sum of the shares."""

    dimensions: list[DimensionFigure]
    total: Decimal

    @property
    def share_places(self) -> int:
        """Decimals that print every share and the total exactly (4 for weights in hundredths
        of a percent), so the rows of a document add up to its total to the last digit."""
        exps = [d.weighted.normalize().as_tuple().exponent for d in self.dimensions]
        return max([4, *(-int(e) for e in exps if isinstance(e, int))])

    def rows(self) -> list[dict[str, Any]]:
        """The dimension rows as documents take them (``DimensionScore``)."""
        return [
            {"name": d.name, "weight": d.weight, "score": d.score, "weighted": d.weighted}
            for d in self.dimensions
        ]


def figures(instrument: Instrument, levels: Mapping[str, int]) -> Figures:
    """Dimension scores, weighted shares and the total, in Decimal, for complete final levels."""
    rows = []
    for dim in instrument.dimensions:
        weights = [(as_decimal(i.weight), levels[i.code]) for i in dim.indicators]
        weight_sum = sum((w for w, _ in weights), Decimal(0))
        product = sum((w * level for w, level in weights), Decimal(0))
        rows.append(
            DimensionFigure(
                code=dim.code,
                name=dim.name,
                weight=as_decimal(dim.weight),
                score=half_up(product / weight_sum, PLACES),
                weighted=product / 100,
            )
        )
    return Figures(rows, sum((r.weighted for r in rows), Decimal(0)))


def weighted_scores(
    instrument: Instrument, levels: Mapping[str, int]
) -> tuple[dict[str, float], float]:
    """(dimension scores, total index) for complete final levels, as stored (floats whose
    shortest repr is the exact decimal; read them back with :func:`letters.formats.as_decimal`)."""
    fig = figures(instrument, levels)
    return {d.code: float(d.score) for d in fig.dimensions}, float(fig.total)


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


@dataclass(frozen=True)
class RankedRow:
    """One line of a ranking: ``tied_with`` are the other regions with the same total;
    ``decided_by`` names the dimension that ordered them ('' when the rank is shared)."""

    region_code: str
    rank: int
    total: Decimal
    tied_with: tuple[str, ...] = ()
    decided_by: str = ""


def _tie_order(instrument: Instrument) -> list[tuple[str, str, Decimal]]:
    """The dimensions by weight, heaviest first (equal weights in the instrument's order)."""
    dims = [(d.code, d.name, as_decimal(d.weight)) for d in instrument.dimensions]
    return sorted(dims, key=lambda d: -d[2])


def tie_rule_text(instrument: Instrument | None = None, rule: TieBreak | None = None) -> str:
    """The ranking rule in words, printed under every ranking."""
    rule = rule or assessment_settings().tie_break
    head = "Peringkat diurutkan menurut nilai total, dari yang tertinggi."
    if rule == "shared" or instrument is None:
        return head + " Kabupaten/Kota dengan nilai total yang sama menempati peringkat yang sama."
    order = ", ".join(
        f"{name} (bobot {decimal_comma(w)}%)" for _, name, w in _tie_order(instrument)
    )
    return (
        f"{head} Apabila nilai total sama, peringkat ditentukan oleh nilai dimensi berbobot "
        f"terbesar, berturut-turut: {order}; apabila seluruhnya sama, Kabupaten/Kota tersebut "
        "menempati peringkat yang sama."
    )


def _entries(
    results: Iterable[Any] | Mapping[str, float],
) -> list[tuple[str, Decimal, dict[str, Decimal]]]:
    if isinstance(results, Mapping):
        return [(code, half_up(total, PLACES), {}) for code, total in results.items()]
    return [
        (
            r.region_code,
            half_up(r.total, PLACES),
            {
                k: half_up(v, PLACES)
                for k, v in (getattr(r, "dimension_scores", None) or {}).items()
            },
        )
        for r in results
    ]


def rank_table(
    results: Iterable[Any] | Mapping[str, float],
    instrument: Instrument | None = None,
    rule: TieBreak | None = None,
) -> list[RankedRow]:
    """Competition ranking (1, 2, 2, 4), highest total first, ties broken by the rule.

    Accepts objects with ``region_code``, ``total`` and optionally ``dimension_scores``
    (RegionResult, Result rows) or a mapping ``{region_code: total}``. Without an instrument (or
    with rule ``shared``) equal totals share a rank. Rows sharing a rank are listed by code.
    """
    rule = rule or assessment_settings().tie_break
    entries = _entries(results)
    order = _tie_order(instrument) if instrument is not None and rule == "dimensions" else []

    def key(entry: tuple[str, Decimal, dict[str, Decimal]]) -> tuple[Decimal, ...]:
        return (-entry[1], *(-entry[2].get(code, Decimal(0)) for code, _, _ in order))

    ordered = sorted(entries, key=lambda e: (key(e), e[0]))
    by_total: dict[Decimal, list[tuple[str, Decimal, dict[str, Decimal]]]] = {}
    for entry in ordered:
        by_total.setdefault(entry[1], []).append(entry)
    rows: list[RankedRow] = []
    previous: tuple[Decimal, ...] | None = None
    rank = 0
    for position, entry in enumerate(ordered, start=1):
        if key(entry) != previous:
            rank, previous = position, key(entry)
        group = by_total[entry[1]]
        decided = ""
        if len(group) > 1:
            for code, name, _ in order:
                if len({e[2].get(code, Decimal(0)) for e in group}) > 1:
                    decided = name
                    break
        rows.append(
            RankedRow(
                region_code=entry[0],
                rank=rank,
                total=entry[1],
                tied_with=tuple(e[0] for e in group if e[0] != entry[0]),
                decided_by=decided,
            )
        )
    return rows


def rank_results(
    results: Iterable[Any] | Mapping[str, float],
    instrument: Instrument | None = None,
    rule: TieBreak | None = None,
) -> dict[str, int]:
    """``{region_code: rank}`` from :func:`rank_table`."""
    return {row.region_code: row.rank for row in rank_table(results, instrument, rule)}
