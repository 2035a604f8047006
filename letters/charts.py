"""Charts for the Laporan as PNG bytes (matplotlib, Agg backend, no timestamps in the file)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
# The object API (no pyplot state machine) is safe to use from several threads at once.
from matplotlib.figure import Figure  # noqa: E402

# No "Software"/date chunks: the same data gives the same bytes (regeneration, sha256).
_PNG_META = {"Software": None}


def _png(fig) -> bytes:  # noqa: ANN001
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata=_PNG_META)
    return buf.getvalue()


def totals_chart(
    names: Sequence[str], totals: Sequence[float], *, title: str, xlabel: str, scale_max: float
) -> bytes:
    """Horizontal bars of the total per region, best on top."""
    order = sorted(range(len(names)), key=lambda i: (totals[i], names[i]))
    height = max(2.5, 0.32 * len(names) + 1.2)
    fig = Figure(figsize=(7.5, height))
    ax = fig.subplots()
    ax.barh([names[i] for i in order], [totals[i] for i in order], color="#2f6f9f")
    for pos, i in enumerate(order):
        ax.text(
            totals[i] + scale_max * 0.01,
            pos,
            f"{totals[i]:.2f}".replace(".", ","),
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, scale_max * 1.08)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return _png(fig)


def profile_chart(
    names: Sequence[str],
    dimensions: Sequence[str],
    scores: Sequence[Sequence[float]],
    *,
    title: str,
    scale_max: float,
) -> bytes:
    """Grouped bars: for each region, one bar per dimension (scores[region][dimension])."""
    n_dim = max(len(dimensions), 1)
    width = 0.8 / n_dim
    fig = Figure(figsize=(7.5, max(3.0, 0.45 * len(names) * max(1, n_dim / 3) + 1.5)))
    ax = fig.subplots()
    for d, dim in enumerate(dimensions):
        ys = [r + d * width for r in range(len(names))]
        ax.barh(ys, [row[d] for row in scores], height=width, label=dim)
    ax.set_yticks([r + width * (n_dim - 1) / 2 for r in range(len(names))])
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, scale_max)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _png(fig)
