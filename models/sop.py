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
