"""Charts for the Laporan (matplotlib, Agg backend, no pyplot global state).

Both functions take results with ``region_code``, ``total`` and ``dimension_scores`` (Result rows,
RegionResult or export rows); ``names`` maps region codes to display names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from assessment.instruments import Instrument  # noqa: E402


def _name(result: Any, names: Mapping[str, str] | None) -> str:
    code = result.region_code
    if names and code in names:
        return names[code]
    return getattr(result, "region_name", "") or code


def _save(fig: Figure, out_png: Path) -> Path:
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=150, bbox_inches="tight")
    return out_png


def totals_chart(
    results: Sequence[Any],
    out_png: Path,
    *,
    names: Mapping[str, str] | None = None,
    instrument: Instrument | None = None,
    title: str = "Indeks Total per Kabupaten/Kota",
) -> Path:
    """Horizontal bars of the total index per region, best on top; cut-offs as dashed lines."""
    ordered = sorted(results, key=lambda r: (r.total, r.region_code))
    fig = Figure(figsize=(8, max(2.5, 0.45 * len(ordered) + 1.2)))
    ax = fig.subplots()
    labels = [_name(r, names) for r in ordered]
    totals = [float(r.total) for r in ordered]
    bars = ax.barh(labels, totals, color="#1F4E78")
    ax.bar_label(bars, labels=[f"{t:.2f}" for t in totals], padding=3, fontsize=8)
    if instrument is not None:
        ax.set_xlim(0, instrument.scale.max)
        for p in instrument.predicates:
            if p.min > 0:
                ax.axvline(p.min, color="#999999", linestyle="--", linewidth=0.8)
                ax.text(p.min, len(ordered) - 0.4, p.name, fontsize=7, rotation=90, va="top")
    ax.set_xlabel("Indeks")
    ax.set_title(title)
    return _save(fig, out_png)


def dimension_profile_chart(
    results: Sequence[Any],
    out_png: Path,
    *,
    names: Mapping[str, str] | None = None,
    instrument: Instrument | None = None,
    title: str = "Profil Nilai per Dimensi",
) -> Path:
    """Grouped bars: for each dimension, one bar per region."""
    ordered = sorted(results, key=lambda r: r.region_code)
    if instrument is not None:
        dims = [(d.code, d.name) for d in instrument.dimensions]
    else:
        codes = sorted({c for r in ordered for c in (r.dimension_scores or {})})
        dims = [(c, c) for c in codes]
    fig = Figure(figsize=(max(7, 1.8 * len(dims) + 2), 4.5))
    ax = fig.subplots()
    n = max(1, len(ordered))
    width = 0.8 / n
    for k, result in enumerate(ordered):
        scores = result.dimension_scores or {}
        xs = [i + (k - (n - 1) / 2) * width for i in range(len(dims))]
        ax.bar(
            xs,
            [float(scores.get(code, 0.0)) for code, _ in dims],
            width,
            label=_name(result, names),
        )
    ax.set_xticks(range(len(dims)), [name for _, name in dims], fontsize=8)
    if instrument is not None:
        ax.set_ylim(0, instrument.scale.max)
    ax.set_ylabel("Nilai (skala tingkat)")
    ax.set_title(title)
    ax.legend(fontsize=7, ncols=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, out_png)
