"""Settings of the assessment package (env prefix ``PEMANTIK_``), kept apart from models/settings.

``PEMANTIK_INSTRUMENTS_DIR``       an extra folder of instrument YAML files (searched first)
``PEMANTIK_CONSENSUS_MAX_SPREAD``  largest allowed difference between assessors (default 1)
``PEMANTIK_ROUNDING``              how the assessors' mean becomes a level (default half_up)
``PEMANTIK_TIE_BREAK``             how equal totals are ranked: ``dimensions`` (default: the higher
                                   score in the heaviest dimension first, then the next; still
                                   equal → a shared rank) or ``shared`` (equal totals share a rank)
``PEMANTIK_WORKBOOK_SECRET``       salt of the workbook checksum (set it per installation)
``PEMANTIK_WORKBOOK_MAX_MB`` / ``PEMANTIK_WORKBOOK_MAX_UNCOMPRESSED_MB`` / ``PEMANTIK_WORKBOOK_MAX_ROWS``
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.settings import SettingsError, describe_validation_error

Rounding = Literal["half_up", "half_even", "down", "up"]
TieBreak = Literal["dimensions", "shared"]


class AssessmentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PEMANTIK_", env_file=".env", extra="ignore")

    instruments_dir: Path | None = None
    consensus_max_spread: int = Field(1, ge=0)
    rounding: Rounding = "half_up"
    tie_break: TieBreak = "dimensions"
    workbook_secret: str = "pemantik-lembar-kuesioner"
    workbook_max_mb: float = Field(5.0, gt=0)
    workbook_max_uncompressed_mb: float = Field(50.0, gt=0)
    workbook_max_rows: int = Field(2000, ge=10)


@lru_cache(maxsize=8)
def _load(_key: tuple[object, ...]) -> AssessmentSettings:
    try:
        return AssessmentSettings()
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def assessment_settings() -> AssessmentSettings:
    """The settings, re-read whenever a ``PEMANTIK_*`` variable or the ``.env`` file changes.

    Building a pydantic-settings object costs about a millisecond, which dominated scoring a
    region; the cache key is the environment itself, so changed variables are never missed.
    """
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("PEMANTIK_")))
    dotenv = Path(".env")
    stamp = dotenv.stat().st_mtime_ns if dotenv.is_file() else None
    return _load((env, str(Path.cwd()), stamp))
