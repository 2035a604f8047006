"""Lookups that several parts of the product need, each written once."""

from __future__ import annotations

from sqlmodel import Session, select

from models.tables import Assessor, Assignment, AssignmentState, Dispatch, Wait, WaitState


def open_waits(
    session: Session,
    cycle_id: int,
    region_code: str | None = None,
    *,
    kind: str | None = None,
    step_no: int | None = None,
    for_update: bool = False,
) -> list[Wait]:
    """The open waits of a cycle (optionally of one region, stage kind or SOP step), oldest
    first; ``for_update`` locks them (PostgreSQL) for a change of due date."""
    query = select(Wait).where(Wait.cycle_id == cycle_id, Wait.state == WaitState.OPEN)
    if region_code is not None:
        query = query.where(Wait.region_code == region_code)
    if kind is not None:
        query = query.where(Wait.kind == kind)
    if step_no is not None:
        query = query.where(Wait.step_no == step_no)
    query = query.order_by(Wait.id)
    if for_update:
        query = query.with_for_update()
    return list(session.exec(query))


def letter_kinds_sent(
    session: Session,
    cycle_id: int,
    *,
    region_code: str | None = None,
    assessor_id: int | None = None,
) -> set[str]:
    """The kinds of letter the cycle has sent to a region or to an assessor."""
    query = select(Dispatch.kind).where(Dispatch.cycle_id == cycle_id)
    if assessor_id is not None:
        query = query.where(Dispatch.assessor_id == assessor_id)
    else:
        query = query.where(Dispatch.region_code == region_code)
    return set(session.exec(query.distinct()))


def assessor_by_email(session: Session, email: str) -> Assessor | None:
    """The registered assessor with this address (addresses are stored lower case)."""
    address = (email or "").strip().lower()
    if not address:
        return None
    return session.exec(select(Assessor).where(Assessor.email == address)).first()


def assessors_of(
    session: Session, cycle_id: int, region_codes: list[str], state: str
) -> list[tuple[str, int, str, str]]:
    """(region code, assessor id, name, email) of the assignments in ``state`` for the
    regions, ordered by assessor id."""
    return list(
        session.exec(
            select(Assignment.region_code, Assessor.id, Assessor.name, Assessor.email)
            .join(Assessor, Assessor.id == Assignment.assessor_id)
            .where(
                Assignment.cycle_id == cycle_id,
                Assignment.region_code.in_(region_codes),
                Assignment.state == state,
            )
            .order_by(Assessor.id)
        )
    )


def active_assessor_ids(session: Session, cycle_id: int, region_code: str) -> list[int]:
    """The assessors who agreed to assess the region in this cycle (sorted ids)."""
    rows = session.exec(
        select(Assignment.assessor_id).where(
            Assignment.cycle_id == cycle_id,
            Assignment.region_code == region_code,
            Assignment.state == AssignmentState.ACCEPTED,
        )
    )
    return sorted(rows)
