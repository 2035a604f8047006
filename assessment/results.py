"""Assessors' scores and the stored final result (steps 11–13), with blindness and the lock.

- :func:`submit_scores` stores one assessor's complete set of levels for a region (replacing an
  earlier submission of the same assessor) — refused when the result is locked.
- Blind: :func:`scores_visible_to` shows an assessor nothing of the others' levels until the
  assessor has submitted their own.
- :func:`finalize_result` computes and stores the Result and re-ranks the cycle; it refuses while
  a flagged indicator lacks a consensus level.
- :func:`lock_result` / :func:`unlock_result`: an unlock needs a reason and is written to the
  audit trail (StepRecord, event ``unlocked``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlmodel import Session, delete, select

from assessment.answers import check_level, latest_answers
from assessment.assignment import conflict_of_interest
from assessment.instruments import Instrument
from assessment.scoring import RegionResult, ScoringError, compute_result, rank_results
from models import clock
from models.tables import Assessor, Cycle, Result, Score, StepRecord

RESULT_STEP = 13  # SOP step "Terima Hasil Akhir Penilaian", where results are locked


class ResultLockedError(RuntimeError):
    """The region's result is locked; it must be unlocked (with a reason) first."""


class ConsensusRequiredError(ScoringError):
    """Flagged indicators still lack a consensus level."""


def _result(session: Session, cycle_id: int, region_code: str) -> Result | None:
    return session.exec(
        select(Result).where(Result.cycle_id == cycle_id, Result.region_code == region_code)
    ).first()


def _refuse_if_locked(session: Session, cycle_id: int, region_code: str) -> Result | None:
    row = _result(session, cycle_id, region_code)
    if row is not None and row.locked:
        raise ResultLockedError(
            f"Hasil penilaian wilayah {region_code} sudah dikunci; buka kunci dengan alasan "
            "sebelum mengubahnya"
        )
    return row


def submit_scores(
    session: Session,
    *,
    cycle_id: int,
    region_code: str,
    assessor_id: int,
    scores: Mapping[str, Mapping[str, Any]],
    instrument: Instrument,
) -> list[Score]:
    """Store an assessor's verified level and note for every indicator of a region."""
    _refuse_if_locked(session, cycle_id, region_code)
    assessor = session.get(Assessor, assessor_id)
    if assessor is None:
        raise ScoringError(f"Asesor dengan id {assessor_id} tidak terdaftar")
    if conflict_of_interest(assessor, region_code):
        raise ScoringError(
            f"Asesor {assessor.name} berasal dari wilayah {region_code} (konflik kepentingan) "
            "dan tidak boleh menilai wilayah ini"
        )
    errors: list[str] = []
    known = set(instrument.indicator_codes)
    errors += [
        f"Indikator '{code}': tidak ada dalam instrumen {instrument.code}"
        for code in scores
        if code not in known
    ]
    clean: dict[str, tuple[int, str]] = {}
    for ind in instrument.indicators:
        item = scores.get(ind.code)
        if not isinstance(item, Mapping):
            errors.append(f"Indikator {ind.code}: tingkat belum diisi")
            continue
        level, problem = check_level(item.get("level"), instrument)
        if problem:
            errors.append(f"Indikator {ind.code}: {problem}")
        else:
            clean[ind.code] = (level, str(item.get("note") or "").strip())
    if errors:
        raise ScoringError(f"Nilai asesor {assessor.name} ditolak:", errors)
    session.execute(
        delete(Score).where(
            Score.cycle_id == cycle_id,
            Score.region_code == region_code,
            Score.assessor_id == assessor_id,
        )
    )
    now = clock.now()
    rows = [
        Score(
            cycle_id=cycle_id,
            region_code=region_code,
            assessor_id=assessor_id,
            indicator_code=code,
            level=level,
            note=note,
            submitted_at=now,
        )
        for code, (level, note) in clean.items()
    ]
    session.add_all(rows)
    session.flush()
    return rows


def _scores(session: Session, cycle_id: int, region_code: str) -> list[Score]:
    return list(
        session.exec(
            select(Score)
            .where(Score.cycle_id == cycle_id, Score.region_code == region_code)
            .order_by(Score.assessor_id, Score.id)
        )
    )


def scores_visible_to(
    session: Session, cycle_id: int, region_code: str, assessor_id: int
) -> dict[int, dict[str, dict[str, Any]]]:
    """What an assessor may see: ``{assessor_id: {code: {"level", "note"}}}``.

    Before the assessor has submitted, only their own (none yet) — never another's levels;
    after submitting, every assessor's levels for the region.
    """
    rows = _scores(session, cycle_id, region_code)
    submitted = any(r.assessor_id == assessor_id for r in rows)
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for r in rows:
        if submitted or r.assessor_id == assessor_id:
            out.setdefault(r.assessor_id, {})[r.indicator_code] = {
                "level": r.level,
                "note": r.note,
            }
    return out


def missing_assessors(
    session: Session, cycle_id: int, region_code: str, assessor_ids: list[int]
) -> list[int]:
    """The assigned assessors who have not submitted scores for the region yet."""
    done = {r.assessor_id for r in _scores(session, cycle_id, region_code)}
    return [aid for aid in assessor_ids if aid not in done]


def assessor_levels(session: Session, cycle_id: int, region_code: str) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for r in _scores(session, cycle_id, region_code):
        out.setdefault(r.assessor_id, {})[r.indicator_code] = r.level
    return out


def consensus_lines(
    session: Session, cycle_id: int, region_code: str, codes: Iterable[str]
) -> list[str]:
    """One line per indicator that needs a consensus level: the assessors' levels."""
    levels = assessor_levels(session, cycle_id, region_code)
    return [
        f"Indikator {code}: tingkat asesor "
        + ", ".join(str(lv[code]) for lv in levels.values() if code in lv)
        + " (selisih melebihi batas; isi tingkat konsensus beserta catatan)"
        for code in codes
    ]


def region_result(
    session: Session,
    cycle_id: int,
    region_code: str,
    instrument: Instrument,
    consensus: Mapping[str, Mapping[str, Any]] | None = None,
) -> RegionResult:
    """Compute (without storing) the region's result from the stored answers and scores."""
    levels = assessor_levels(session, cycle_id, region_code)
    if not levels:
        raise ScoringError(f"Belum ada nilai asesor untuk wilayah {region_code}")
    answers = latest_answers(session, cycle_id, region_code)
    self_levels = (
        {code: int(a["level"]) for code, a in (answers.answers or {}).items()} if answers else None
    )
    return compute_result(instrument, self_levels, levels, consensus, region_code=region_code)


def cycle_instrument(session: Session, cycle_id: int) -> Instrument | None:
    """The instrument a cycle is assessed with (None when the cycle or its file is unknown)."""
    from assessment.instruments import InstrumentError, load_instrument

    cycle = session.get(Cycle, cycle_id)
    if cycle is None or not cycle.instrument_code:
        return None
    try:
        return load_instrument(cycle.instrument_code)
    except InstrumentError:
        return None


def rerank_cycle(session: Session, cycle_id: int) -> dict[str, int]:
    """Recompute the ranks of every stored result of the cycle (ties broken by the stated rule,
    :func:`assessment.scoring.tie_rule_text`)."""
    rows = list(session.exec(select(Result).where(Result.cycle_id == cycle_id)))
    ranks = rank_results(rows, cycle_instrument(session, cycle_id))
    for row in rows:
        row.rank = ranks[row.region_code]
        session.add(row)
    session.flush()
    return ranks


def finalize_result(
    session: Session,
    cycle_id: int,
    region_code: str,
    instrument: Instrument,
    consensus: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    rerank: bool = True,
) -> Result:
    """Store (or update) the region's Result and re-rank the cycle.

    ``consensus`` adds to any consensus stored earlier. A batch may pass ``rerank=False`` and
    call :func:`rerank_cycle` once at the end. Refused with
    :class:`ConsensusRequiredError` while a flagged indicator has no consensus level, and with
    :class:`ResultLockedError` when the result is locked.
    """
    row = _refuse_if_locked(session, cycle_id, region_code)
    merged = dict((row.consensus or {}) if row else {})
    merged.update({k: dict(v) for k, v in (consensus or {}).items()})
    rr = region_result(session, cycle_id, region_code, instrument, merged)
    if rr.needs_consensus:
        detail = consensus_lines(session, cycle_id, region_code, rr.needs_consensus)
        raise ConsensusRequiredError(
            f"Hasil wilayah {region_code} belum dapat ditetapkan: "
            f"{len(rr.needs_consensus)} indikator memerlukan konsensus",
            detail,
        )
    if row is None:
        row = Result(cycle_id=cycle_id, region_code=region_code)
    row.final_levels = dict(rr.final_levels)
    row.consensus = rr.consensus or None
    row.dimension_scores = dict(rr.dimension_scores)
    row.total = rr.total
    row.predicate = rr.predicate
    row.updated_at = clock.now()
    session.add(row)
    session.flush()
    if rerank:
        rerank_cycle(session, cycle_id)
    return row


def _audit(
    session: Session, row: Result, event: str, who: str, outcome: str, detail: dict[str, Any]
) -> StepRecord:
    now = clock.now()
    record = StepRecord(
        cycle_id=row.cycle_id,
        region_code=row.region_code,
        step_no=RESULT_STEP,
        actor="Bidang Aptika",
        event=event,
        started_at=now,
        completed_at=now,
        outcome=outcome,
        who=who,
        detail=detail,
    )
    session.add(record)
    return record


def lock_result(session: Session, cycle_id: int, region_code: str, who: str) -> Result:
    """Lock the stored result (step 13); later changes need :func:`unlock_result`."""
    row = _result(session, cycle_id, region_code)
    if row is None:
        raise ScoringError(f"Hasil wilayah {region_code} belum ditetapkan; tidak ada yang dikunci")
    if not row.locked:
        row.locked = True
        row.locked_at = clock.now()
        session.add(row)
        _audit(
            session,
            row,
            "locked",
            who,
            "Hasil penilaian dikunci",
            {"total": row.total, "predicate": row.predicate},
        )
        session.flush()
    return row


def unlock_result(
    session: Session, cycle_id: int, region_code: str, *, reason: str, who: str
) -> Result:
    """Unlock a locked result; the reason is required and kept in the audit trail."""
    if not reason or not reason.strip():
        raise ScoringError("Alasan membuka kunci hasil penilaian wajib diisi")
    if not who or not who.strip():
        raise ScoringError("Nama petugas yang membuka kunci wajib diisi")
    row = _result(session, cycle_id, region_code)
    if row is None or not row.locked:
        raise ScoringError(f"Hasil wilayah {region_code} tidak dalam keadaan terkunci")
    row.locked = False
    row.locked_at = None
    session.add(row)
    _audit(
        session,
        row,
        "unlocked",
        who.strip(),
        "Kunci hasil penilaian dibuka",
        {"reason": reason.strip(), "total": row.total, "predicate": row.predicate},
    )
    session.flush()
    return row
