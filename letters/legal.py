"""The SK Penetapan's Menimbang, Mengingat and Tembusan, from a data file.

The shipped file is ``letters/data/dasar-hukum.yaml`` (legal bases with their LN/TLN numbers);
``PEMANTIK_LETTERS__LEGAL_BASES_FILE`` names an installation's own copy. The Keputusan appointing
the assessment team (``PEMANTIK_LETTERS__TEAM_DECREE``) is added as the last Mengingat item.
The texts may hold the placeholders {tahun} {instrumen} {provinsi} {pejabat} {tentang}, filled
by the SK's template.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from letters.errors import LetterError
from letters.register import read_data_file
from models.settings import get_settings

SHIPPED_LEGAL_BASES = Path(__file__).parent / "data" / "dasar-hukum.yaml"


class _Basis(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    key: str = Field(min_length=1)
    text: str = Field(min_length=1)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    menimbang: list[str] = Field(min_length=1)
    mengingat: list[_Basis] = Field(min_length=1)
    tembusan: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class SkSections:
    considerations: list[str]
    legal_bases: list[str]
    cc: list[str]


@lru_cache(maxsize=4)
def _load(path: str, _mtime: int) -> _File:
    data = read_data_file(Path(path), _File, "dasar hukum")
    assert isinstance(data, _File)
    return data


def sk_sections() -> SkSections:
    """Menimbang, Mengingat (with the team's Keputusan last) and Tembusan of the SK."""
    letters = get_settings().letters
    path = Path(letters.legal_bases_file or SHIPPED_LEGAL_BASES)
    if not path.is_file():
        raise LetterError(
            f"berkas dasar hukum {path} tidak ditemukan; periksa pengaturan "
            "PEMANTIK_LETTERS__LEGAL_BASES_FILE"
        )
    data = _load(str(path.resolve()), path.stat().st_mtime_ns)
    bases = [b.text for b in data.mengingat]
    decree = letters.team_decree.strip()
    if decree:
        bases.append(decree if decree.endswith(";") else decree + ";")
    return SkSections(list(data.menimbang), bases, list(data.tembusan))
