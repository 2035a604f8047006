"""The SOP's 14 steps as one declarative table, loaded from ``models/data/sop.yaml``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

SOP_FILE = Path(__file__).parent / "data" / "sop.yaml"


class SopStep(BaseModel):
    number: int = Field(ge=1)
    key: str
    task_name: str
    actor: str
    activity: str
    document: str
    sla_days: int = Field(ge=0)
    output: str
    waits_on: str = ""
    receives: list[str] = Field(default_factory=list)  # letter kinds whose receipt it records


@lru_cache(maxsize=1)
def sop_steps() -> tuple[SopStep, ...]:
    rows = yaml.safe_load(SOP_FILE.read_text(encoding="utf-8"))
    steps = tuple(SopStep.model_validate(row) for row in rows)
    numbers = [s.number for s in steps]
    if numbers != list(range(1, len(steps) + 1)):
        raise ValueError(f"{SOP_FILE}: langkah harus bernomor urut 1..n, bukan {numbers}")
    return steps


def step(number: int) -> SopStep:
    return sop_steps()[number - 1]


def receipt_step(letter_kind: str, kinds_sent: set[str]) -> int:
    """The SOP step that records the receipt of a letter of ``letter_kind``: the step that
    receives that kind. Another letter (a reminder, the results) belongs to the latest receiving
    step the person has reached, from the kinds of letter sent to them (``kinds_sent``)."""
    receiving = [s for s in sop_steps() if s.receives]
    for s in receiving:
        if letter_kind in s.receives:
            return s.number
    reached = [s.number for s in receiving if kinds_sent & set(s.receives)]
    return max(reached) if reached else receiving[0].number
