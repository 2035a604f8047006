"""Assessors' recommendations per indicator, with a priority (tinggi / sedang / rendah).

They are handed over with the scores (the ``rekomendasi`` of a ``nilai`` input, through the
same door, in the same transaction) and read by the Laporan and the results letter through
:func:`recommendations_for`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, select

from models import clock
from models.tables import Recommendation

PRIORITIES = ("tinggi", "sedang", "rendah")  # the order they are listed in
MAX_TEXT = 2000


def check_recommendations(items: Any, indicator_codes: list[str]) -> dict[str, tuple[str, str]]:
    """``{code: {"teks", "prioritas"}}`` as ``{code: (text, priority)}``; empty texts are
    skipped; every mistake is listed (Indonesian) in a ValueError."""
    if not items:
        return {}
    if not isinstance(items, Mapping):
        raise ValueError(["Rekomendasi harus berupa daftar per indikator"])
    errors: list[str] = []
    clean: dict[str, tuple[str, str]] = {}
    for code, item in items.items():
        text = str((item or {}).get("teks", "")).strip()
        priority = str((item or {}).get("prioritas", "")).strip().lower()
        if not text:
            continue
        if code not in indicator_codes:
            errors.append(f"Rekomendasi untuk indikator '{code}': indikator tidak dikenal")
        elif priority not in PRIORITIES:
            errors.append(
                f"Rekomendasi indikator {code}: pilih prioritas tinggi, sedang, atau rendah"
            )
        elif len(text) > MAX_TEXT:
            errors.append(f"Rekomendasi indikator {code}: paling banyak {MAX_TEXT} karakter")
        else:
            clean[code] = (text, priority)
    if errors:
        raise ValueError(errors)
    return clean


def store_recommendations(
    session: Session,
    cycle_id: int,
    region_code: str,
    assessor_id: int,
    clean: dict[str, tuple[str, str]],
) -> int:
    """Replace the assessor's recommendations for the region (in the caller's transaction)."""
    for old in session.exec(
        select(Recommendation).where(
            Recommendation.cycle_id == cycle_id,
            Recommendation.region_code == region_code,
            Recommendation.assessor_id == assessor_id,
        )
    ):
        session.delete(old)
    session.flush()
    for code, (text, priority) in clean.items():
        session.add(
            Recommendation(
                cycle_id=cycle_id,
                region_code=region_code,
                assessor_id=assessor_id,
                indicator_code=code,
                text=text,
                priority=priority,
                submitted_at=clock.now(),
            )
        )
    session.flush()
    return len(clean)


def recommendations_for(session: Session, cycle_id: int, region_code: str) -> list[dict[str, Any]]:
    """A region's recommendations for the Laporan and the results letter: highest priority
    first, then by indicator; each ``{indicator, text, priority, assessor_id}``."""
    rows = session.exec(
        select(Recommendation).where(
            Recommendation.cycle_id == cycle_id, Recommendation.region_code == region_code
        )
    ).all()
    rows = sorted(rows, key=lambda r: (PRIORITIES.index(r.priority), r.indicator_code, r.id))
    return [
        {
            "indicator": r.indicator_code,
            "text": r.text,
            "priority": r.priority,
            "assessor_id": r.assessor_id,
        }
        for r in rows
    ]
