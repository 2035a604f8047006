"""The result charts (Laporan, ``pemantik hasil --grafik``) as PNG bytes.

One look for every chart: one palette, one resolution, numbers with the Indonesian decimal
comma (:func:`letters.formats.decimal_comma`). The value axis is a :class:`ChartScale`: the
instrument's scale (``ChartScale.of(instrument)``), with its predicate cut-offs drawn as bands.
matplotlib's object API (no pyplot state) with the Agg backend, so charts can be drawn from
several threads; the files carry no timestamp, so the same data gives the same bytes.

    scale = ChartScale.of(instrument)
    pngs = totals_charts(names, totals, scale=scale, title="…", xlabel="Nilai")
    png = heatmap_chart(names, dimensions, scores, scale=scale, title="…")
    png = comparison_chart(names, self_totals, totals, scale=scale, title="…")
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from letters.formats import decimal_comma  # noqa: E402

# The first colour is the one-series colour; a dimension takes the next ones in order.
PALETTE = (
    "#1F4E78",
    "#C55A11",
    "#548235",
    "#7F6000",
    "#7030A0",
    "#2E75B6",
    "#BF9000",
    "#843C0C",
    "#375623",
    "#595959",
)
BAND_COLOUR = "#7F7F7F"
DPI = 300  # print quality: the Laporan is printed and signed
# How many regions one chart holds before the list is split (one chart fits a page).
TOTALS_PER_CHART = 40
PROFILES_PER_CHART = 10
HEATMAP_ROWS_PER_CHART = 40

# No "Software"/date chunks: the same data gives the same bytes (regeneration, sha256).
_PNG_META = {"Software": None}


@dataclass(frozen=True)
class Band:
    """A predicate from its lower cut-off up to the next one (``Baik`` from 2.6)."""

    name: str
    min: float


@dataclass(frozen=True)
class ChartScale:
    """The value axis: from ``min`` to ``max``, with the predicate bands on it."""

    min: float = 0
    max: float = 5
    bands: tuple[Band, ...] = ()

    @classmethod
    def of(cls, instrument: Any) -> ChartScale:
        """The scale and predicates of an instrument (anything with ``scale.min``,
        ``scale.max`` and ``predicates`` of ``name``/``min``)."""
        return cls(
            min=instrument.scale.min,
            max=instrument.scale.max,
            bands=tuple(Band(p.name, p.min) for p in instrument.predicates),
        )


def _number(value: float, _pos: Any = None) -> str:
    return decimal_comma(value, 0) if float(value).is_integer() else decimal_comma(value, 1)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata=_PNG_META)
    return buf.getvalue()


def _value_axis(ax: Any, scale: ChartScale, label: str, *, room: float = 1.0) -> None:
    """The horizontal value axis: its range, comma ticks, and the predicate bands (a dashed line
    at each cut-off, the predicate's name above the plot in the middle of its band)."""
    span = scale.max - scale.min
    ax.set_xlim(scale.min, scale.min + span * room)
    ax.set_xticks(_ticks_on_scale(scale))
    ax.xaxis.set_major_formatter(FuncFormatter(_number))
    if label:
        ax.set_xlabel(label)
    bands = sorted(scale.bands, key=lambda b: b.min)
    tops = [b.min for b in bands[1:]] + [scale.max] if bands else []
    for band, top in zip(bands, tops, strict=True):
        low, high = max(band.min, scale.min), min(top, scale.max)
        if high <= low:
            continue
        if low > scale.min:
            ax.axvline(low, color=BAND_COLOUR, linestyle="--", linewidth=0.8, zorder=0)
        ax.text(
            (low + high) / 2,
            1.01,
            band.name,
            transform=ax.get_xaxis_transform(),
            fontsize=7,
            color=BAND_COLOUR,
            ha="center",
            va="bottom",
        )


def _ticks_on_scale(scale: ChartScale) -> list[float]:
    """Whole steps of the scale (1, 2, …, 5): the axis never starts below the scale."""
    return [float(v) for v in range(int(scale.min), int(scale.max) + 1)]


def _pages(count: int, per_chart: int) -> list[range]:
    return [range(start, min(start + per_chart, count)) for start in range(0, count, per_chart)]


def totals_chart(
    names: Sequence[str],
    totals: Sequence[float],
    *,
    scale: ChartScale,
    title: str,
    xlabel: str = "",
) -> bytes:
    """Horizontal bars of the total per region, best on top, each labelled with its value."""
    order = sorted(range(len(names)), key=lambda i: (totals[i], names[i]))
    fig = Figure(figsize=(7.5, max(2.5, 0.32 * len(names) + 1.2)))
    ax = fig.subplots()
    span = scale.max - scale.min
    values = [totals[i] for i in order]
    ax.barh(
        [names[i] for i in order],
        [v - scale.min for v in values],
        left=scale.min,
        color=PALETTE[0],
    )
    for pos, value in enumerate(values):
        ax.text(value + span * 0.01, pos, decimal_comma(value), va="center", fontsize=8)
    _value_axis(ax, scale, xlabel, room=1.08)
    ax.set_title(title, pad=16 if scale.bands else 6)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return _png(fig)


def profile_chart(
    names: Sequence[str],
    dimensions: Sequence[str],
    scores: Sequence[Sequence[float]],
    *,
    scale: ChartScale,
    title: str,
    xlabel: str = "",
) -> bytes:
    """Grouped bars: for each region, one bar per dimension (``scores[region][dimension]``)."""
    n_dim = max(len(dimensions), 1)
    width = 0.8 / n_dim
    fig = Figure(figsize=(7.5, max(3.0, 0.45 * len(names) * max(1, n_dim / 3) + 1.5)))
    ax = fig.subplots()
    for d, dim in enumerate(dimensions):
        ax.barh(
            [r + d * width for r in range(len(names))],
            [row[d] - scale.min for row in scores],
            left=scale.min,
            height=width,
            label=dim,
            color=PALETTE[d % len(PALETTE)],
        )
    ax.set_yticks([r + width * (n_dim - 1) / 2 for r in range(len(names))])
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    _value_axis(ax, scale, xlabel)
    ax.set_title(title, pad=16 if scale.bands else 6)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _png(fig)


def _paged(draw: Any, per_chart: int, names: Sequence[str], rows: Sequence[Any], **kw: Any):  # noqa: ANN202
    pages = _pages(len(names), per_chart)
    return [draw([names[i] for i in page], [rows[i] for i in page], **kw) for page in pages]


def totals_charts(names: Sequence[str], totals: Sequence[float], **options: Any) -> list[bytes]:
    """:func:`totals_chart` (same options) for every :data:`TOTALS_PER_CHART` regions."""
    return _paged(totals_chart, TOTALS_PER_CHART, names, totals, **options)


def profile_charts(
    names: Sequence[str],
    dimensions: Sequence[str],
    scores: Sequence[Sequence[float]],
    **options: Any,
) -> list[bytes]:
    """:func:`profile_chart` (same options) for every :data:`PROFILES_PER_CHART` regions."""

    def draw(part: Sequence[str], rows: Sequence[Sequence[float]], **kw: Any) -> bytes:
        return profile_chart(part, dimensions, rows, **kw)

    return _paged(draw, PROFILES_PER_CHART, names, scores, **options)


def heatmap_chart(
    names: Sequence[str],
    dimensions: Sequence[str],
    scores: Sequence[Sequence[float]],
    *,
    scale: ChartScale,
    title: str,
    colour_label: str = "",
) -> bytes:
    """Regions × dimensions: each cell coloured on the scale and labelled with its value; the
    colour bar marks the predicate cut-offs."""
    from matplotlib import colormaps

    cmap = colormaps["RdYlGn"]
    fig = Figure(figsize=(7.5, max(2.5, 0.36 * len(names) + 1.8)))
    ax = fig.subplots()
    image = ax.imshow(
        [list(row) for row in scores],
        cmap=cmap,
        vmin=scale.min,
        vmax=scale.max,
        aspect="auto",
    )
    ax.set_xticks(range(len(dimensions)))
    ax.set_xticklabels([_wrap(d) for d in dimensions], fontsize=7)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    span = scale.max - scale.min
    for r, row in enumerate(scores):
        for d, value in enumerate(row):
            dark = abs((value - scale.min) / span - 0.5) > 0.3 if span else False
            ax.text(
                d,
                r,
                decimal_comma(value),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if dark else "black",
            )
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.set_ticks(_ticks_on_scale(scale))
    bar.ax.yaxis.set_major_formatter(FuncFormatter(_number))
    bar.ax.tick_params(labelsize=7)
    for band in scale.bands:
        if scale.min < band.min < scale.max:
            bar.ax.axhline(band.min, color="black", linewidth=0.8)
    if colour_label:
        bar.set_label(colour_label, fontsize=7)
    ax.set_title(title, fontsize=10, pad=8)
    fig.tight_layout()
    return _png(fig)


def heatmap_charts(
    names: Sequence[str],
    dimensions: Sequence[str],
    scores: Sequence[Sequence[float]],
    **options: Any,
) -> list[bytes]:
    """:func:`heatmap_chart` (same options) for every :data:`HEATMAP_ROWS_PER_CHART` regions."""

    def draw(part: Sequence[str], rows: Sequence[Sequence[float]], **kw: Any) -> bytes:
        return heatmap_chart(part, dimensions, rows, **kw)

    return _paged(draw, HEATMAP_ROWS_PER_CHART, names, scores, **options)


def comparison_chart(
    names: Sequence[str],
    self_totals: Sequence[float | None],
    totals: Sequence[float],
    *,
    scale: ChartScale,
    title: str,
    xlabel: str = "",
    self_label: str = "",
    final_label: str = "",
) -> bytes:
    """Per region, the self-assessment and the verified result on one line (a dumbbell)."""
    fig = Figure(figsize=(7.5, max(2.5, 0.32 * len(names) + 1.6)))
    ax = fig.subplots()
    rows = range(len(names))
    for r in rows:
        mine = self_totals[r]
        if mine is not None:
            ax.plot([mine, totals[r]], [r, r], color="#BFBFBF", linewidth=2, zorder=1)
    ax.scatter(
        [v for v in self_totals if v is not None],
        [r for r in rows if self_totals[r] is not None],
        color=PALETTE[1],
        label=self_label or None,
        zorder=2,
        s=18,
    )
    ax.scatter(totals, list(rows), color=PALETTE[0], label=final_label or None, zorder=3, s=18)
    ax.set_yticks(list(rows))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    _value_axis(ax, scale, xlabel)
    ax.set_title(title, pad=16 if scale.bands else 6)
    if self_label or final_label:
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _png(fig)


def _wrap(text: str, width: int = 16) -> str:
    """A long axis label on two or more lines (dimension names are long)."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])
