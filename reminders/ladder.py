"""The escalation ladder as data: which message goes to whom, N working days from a due date."""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from reminders.settings import ReminderSettings

Party = Literal["wilayah", "asesor", "admin"]
Role = Literal["pihak", "pic", "kepala", "admin"]
PLACEHOLDERS = {"uraian", "tenggat", "wilayah", "langkah", "hari", "asesor"}
DIGEST_PLACEHOLDERS = {"tanggal", "jumlah"}


def _check_placeholders(text: str, allowed: set[str]) -> str:
    try:
        used = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ValueError(f"teks '{text}' tidak dapat dibaca: {exc}") from None
    unknown = used - allowed
    if unknown:
        raise ValueError(
            f"placeholder tidak dikenal: {', '.join(sorted(unknown))} "
            f"(yang boleh: {', '.join(sorted(allowed))})"
        )
    return text


class Rung(BaseModel):
    key: str = Field(pattern=r"^[a-z0-9+\-]+$")
    offset: int = Field(ge=-30, le=60)
    parties: list[Party] = Field(min_length=1)
    to: Role = "pihak"
    cc: list[Role] = []
    template: str = "pengingat"
    subject: str
    pesan: str = ""
    letter: str = ""  # kind of numbered letter to issue and attach ("" = none)
    # Fire on a later run when the rung's own day was missed (the job did not run that day).
    catch_up: bool = False

    @field_validator("subject", "pesan")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        return _check_placeholders(value, PLACEHOLDERS)

    def applies_to(self, party: str) -> bool:
        return party in self.parties


class Digest(BaseModel):
    template: str = "ringkasan_admin"
    subject: str
    min_overdue: int = Field(1, ge=1)

    @field_validator("subject")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        return _check_placeholders(value, DIGEST_PLACEHOLDERS)


class Ladder(BaseModel):
    rungs: list[Rung]
    digest: Digest | None = None

    @model_validator(mode="after")
    def _one_rung_per_day_and_party(self) -> Ladder:
        keys = [r.key for r in self.rungs]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"kunci anak tangga ganda: {', '.join(dupes)}")
        seen: dict[tuple[int, str], str] = {}
        for rung in self.rungs:
            for party in rung.parties:
                other = seen.get((rung.offset, party))
                if other:
                    raise ValueError(
                        f"anak tangga {other} dan {rung.key} sama-sama berlaku untuk "
                        f"{party} pada hari ke-{rung.offset}"
                    )
                seen[(rung.offset, party)] = rung.key
        return self

    def rung_for(self, offset: int, party: str) -> Rung | None:
        return self._index().get((offset, party))

    def missed_rung(self, offset: int, party: str) -> Rung | None:
        """The latest catch-up rung for ``party`` whose day lies before ``offset``."""
        passed = [r for r in self.rungs if r.catch_up and r.offset < offset and r.applies_to(party)]
        return max(passed, key=lambda r: r.offset) if passed else None

    def catch_up_keys(self) -> set[str]:
        return {r.key for r in self.rungs if r.catch_up}

    def _index(self) -> dict[tuple[int, str], Rung]:
        index = self.__dict__.get("_cached_index")
        if index is None:
            index = {(r.offset, p): r for r in self.rungs for p in r.parties}
            self.__dict__["_cached_index"] = index
        return index


class LadderError(ValueError):
    """The ladder file is wrong; the message names the file and the field."""


def parse_ladder(text: str, source: str = "tangga eskalasi") -> Ladder:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise LadderError(f"{source}: bukan YAML yang sah: {exc}") from None
    try:
        return Ladder.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in err['loc']) or '(akar)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise LadderError(f"{source} tidak valid:\n" + "\n".join(lines)) from None


def load_ladder(path: Path | None = None) -> Ladder:
    """The ladder from ``path``, else from PEMANTIK_LADDER_FILE, else the shipped default."""
    if path is None:
        try:
            path = ReminderSettings().ladder_file
        except ValidationError as exc:
            msg = "; ".join(err["msg"] for err in exc.errors())
            raise LadderError(f"PEMANTIK_LADDER_FILE: {msg}") from None
    return _load_cached(Path(path).resolve(), Path(path).stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _load_cached(path: Path, _mtime: int) -> Ladder:
    return parse_ladder(path.read_text(encoding="utf-8"), source=str(path))
