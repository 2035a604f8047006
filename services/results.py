"""Steps 11–13 around the scores: the result preview and the filled Formulir per region."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from models.db import session_scope
from models.tables import Assessor, Document
from services.context import get_region, load_cycle
from services.steps import active_assessor_ids


def formulir_input(session, ctx, region, instrument, rr) -> dict[str, Any]:  # noqa: ANN001
    from assessment.answers import latest_answers
    from assessment.results import assessor_levels

    levels = assessor_levels(session, ctx.id, region.code)
    assessors = {a: session.get(Assessor, a) for a in levels}
    answers = latest_answers(session, ctx.id, region.code)
    own = {c: a.get("level") for c, a in ((answers.answers or {}) if answers else {}).items()}
    notes: dict[tuple[int, str], str] = {}
    from models.tables import Score

    for s in session.exec(
        select(Score).where(Score.cycle_id == ctx.id, Score.region_code == region.code)
    ):
        notes[(s.assessor_id, s.indicator_code)] = s.note
    dims = {d.code: d for d in instrument.dimensions}
    rows = []
    for ind in instrument.indicators:
        rows.append(
            {
                "code": ind.code,
                "name": ind.name,
                "dimension": instrument.dimension_of(ind.code).name,
                "self_level": own.get(ind.code),
                "scores": [
                    {
                        "assessor": assessors[a].name,
                        "level": lv.get(ind.code),
                        "note": notes.get((a, ind.code), ""),
                    }
                    for a, lv in levels.items()
                ],
                "final_level": rr.final_levels.get(ind.code),
            }
        )
    return {
        "year": ctx.params.year,
        "region_code": region.code,
        "region_name": region.name,
        "instrument_name": instrument.name,
        "session_date": ctx.session_date_for(session, region.code),
        "assessors": [{"name": a.name, "instansi": a.institution} for a in assessors.values()],
        "indicators": rows,
        "dimensions": [
            {"name": dims[c].name if c in dims else c, "score": round(v, 2)}
            for c, v in rr.dimension_scores.items()
        ],
        "total": round(rr.total, 2),
        "predicate": rr.predicate,
        "scale_max": instrument.scale.max,
    }


def preview_result(cycle_id: int, region_code: str, round_no: int) -> dict[str, Any]:
    """Compute the result from the scores (not stored yet) and write the filled Formulir."""
    from assessment.instruments import load_instrument
    from assessment.results import region_result
    from letters.service import store_document

    with session_scope() as session:
        ctx = load_cycle(session, cycle_id)
        region = get_region(session, region_code)
        instrument = load_instrument(ctx.cycle.instrument_code)
        rr = region_result(session, ctx.id, region.code, instrument)
        doc: Document = store_document(
            session,
            "formulir",
            formulir_input(session, ctx, region, instrument, rr),
            cycle_id=ctx.id,
            region_code=region.code,
        )
        return {
            "round": round_no,
            "total": round(rr.total, 4),
            "predicate": rr.predicate,
            "flagged": list(rr.needs_consensus),
            "assessors": active_assessor_ids(session, ctx.id, region.code),
            "formulir_document_id": doc.id,
            "outcome": f"nilai sementara {rr.total:.2f} ({rr.predicate})"
            + (
                f"; {len(rr.needs_consensus)} indikator perlu konsensus"
                if rr.needs_consensus
                else ""
            ),
        }
