"""Settings of the reminder package (env ``PEMANTIK_LADDER_FILE``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_LADDER_FILE = Path(__file__).parent / "data" / "ladder.yaml"


class ReminderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PEMANTIK_", env_file=".env", extra="ignore")

    ladder_file: Path = DEFAULT_LADDER_FILE

    @field_validator("ladder_file")
    @classmethod
    def _exists(cls, value: Path) -> Path:
        if not Path(value).is_file():
            raise ValueError(f"berkas tangga eskalasi tidak ditemukan: {value}")
        return value
