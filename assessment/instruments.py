"""Assessment instruments as YAML data files, checked against a schema.

An instrument is dimensions (domains) → aspects → indicators, a level scale with its names and
general descriptions, and predicate cut-offs. Weights are written in percent: the indicator
weights of an aspect add up to the aspect's weight, the aspects to their dimension, and the
dimensions to 100 (within ``WEIGHT_TOLERANCE``). Every schema error names the file, the field
path and the line, e.g. ``spbe-2020.yaml baris 14 (dimensions[0].weight): ...``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from assessment.settings import assessment_settings

BUILTIN_DIR = Path(__file__).parent / "data" / "instruments"
WEIGHT_TOLERANCE = 0.01  # percentage points
SCORE_EPSILON = 1e-9  # a computed 3.4999999999 must still meet a 3.5 cut-off


class InstrumentError(ValueError):
    """An instrument refused; ``errors`` lists every problem with file, line and field path."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"Instrumen {source} tidak valid:\n  " + "\n  ".join(errors))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scale(_Strict):
    min: int = Field(ge=0)
    max: int
    names: dict[int, str]
    descriptions: dict[int, str] = {}

    @model_validator(mode="after")
    def _contiguous(self) -> Scale:
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) harus lebih besar dari min ({self.min})")
        expected = set(range(self.min, self.max + 1))
        if set(self.names) != expected:
            raise ValueError(f"names harus memuat tepat tingkat {self.min}–{self.max}")
        extra = set(self.descriptions) - expected
        if extra:
            raise ValueError(f"descriptions memuat tingkat di luar skala: {sorted(extra)}")
        return self


class Level(_Strict):
    """One step of the scale: its number, name and general description."""

    level: int
    name: str
    description: str = ""


class Predicate(_Strict):
    name: str = Field(min_length=1)
    min: float


class Indicator(_Strict):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    question: str = ""
    levels: dict[int, str] = {}  # per-indicator criteria; empty → the general scale applies
    weight: float = Field(gt=0)
    evidence_required: bool = True


class Aspect(_Strict):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    weight: float = Field(gt=0)
    indicators: list[Indicator] = Field(min_length=1)


class Dimension(_Strict):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    weight: float = Field(gt=0)
    aspects: list[Aspect] = Field(min_length=1)

    @property
    def indicators(self) -> list[Indicator]:
        return [i for a in self.aspects for i in a.indicators]


class Instrument(_Strict):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    source: str = ""
    example: bool = False  # True: weights/cut-offs are an example, not official
    dimension_label: str = "Dimensi"
    aspect_label: str = "Aspek"
    indicator_label: str = "Indikator"
    scale: Scale
    predicates: list[Predicate] = Field(min_length=1)
    dimensions: list[Dimension] = Field(min_length=1)

    _flat: list[Indicator] = PrivateAttr(default_factory=list)
    _by_code: dict[str, Indicator] = PrivateAttr(default_factory=dict)
    _dimension_of: dict[str, Dimension] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context: Any) -> None:
        for d in self.dimensions:
            for a in d.aspects:
                for i in a.indicators:
                    self._flat.append(i)
                    self._by_code[i.code] = i
                    self._dimension_of[i.code] = d

    # --- the public view -------------------------------------------------------------------
    @property
    def indicators(self) -> list[Indicator]:
        """Every indicator, flat, in the file's order."""
        return list(self._flat)

    @property
    def indicator_codes(self) -> list[str]:
        return [i.code for i in self.indicators]

    @property
    def levels(self) -> list[Level]:
        return [
            Level(level=n, name=self.scale.names[n], description=self.scale.descriptions.get(n, ""))
            for n in range(self.scale.min, self.scale.max + 1)
        ]

    def indicator(self, code: str) -> Indicator:
        return self._by_code[code]

    def dimension_of(self, indicator_code: str) -> Dimension:
        return self._dimension_of[indicator_code]

    def on_scale(self, level: int) -> bool:
        return self.scale.min <= level <= self.scale.max

    def level_descriptions(self, indicator: Indicator) -> dict[int, str]:
        """The indicator's own criteria where filled in, else the general description."""
        return {lv.level: indicator.levels.get(lv.level) or lv.description for lv in self.levels}

    def predicate_for(self, score: float) -> str:
        """The first predicate (highest cut-off first) whose minimum the score reaches."""
        for p in self.predicates:
            if score + SCORE_EPSILON >= p.min:
                return p.name
        return self.predicates[-1].name

    @property
    def scale_text(self) -> str:
        return f"{self.scale.min}–{self.scale.max}"


# --- loading ---------------------------------------------------------------------------------


def _node_line(root: yaml.Node | None, path: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest node reachable along a pydantic error path."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part):
                    nxt = value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                nxt = node.value[part]
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def _path_text(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(akar)"


def _place(source: str, root: yaml.Node | None, path: tuple[Any, ...]) -> str:
    line = _node_line(root, path)
    where = f" baris {line}" if line else ""
    return f"{source}{where} ({_path_text(path)})"


def _weight_errors(inst: Instrument, source: str, root: yaml.Node | None) -> list[str]:
    errors: list[str] = []

    def check(total: float, expected: float, path: tuple[Any, ...], what: str) -> None:
        if abs(total - expected) > WEIGHT_TOLERANCE:
            errors.append(
                f"{_place(source, root, path)}: jumlah bobot {what} {total:g} tidak sama dengan "
                f"{expected:g}"
            )

    for di, d in enumerate(inst.dimensions):
        for ai, a in enumerate(d.aspects):
            check(
                sum(i.weight for i in a.indicators),
                a.weight,
                ("dimensions", di, "aspects", ai, "weight"),
                "indikator",
            )
        check(sum(a.weight for a in d.aspects), d.weight, ("dimensions", di, "weight"), "aspek")
    check(sum(d.weight for d in inst.dimensions), 100.0, ("dimensions",), "dimensi")
    return errors


def _other_errors(inst: Instrument, source: str, root: yaml.Node | None) -> list[str]:
    errors: list[str] = []
    seen: dict[str, tuple[Any, ...]] = {}
    for di, d in enumerate(inst.dimensions):
        for ai, a in enumerate(d.aspects):
            for ii, ind in enumerate(a.indicators):
                path = ("dimensions", di, "aspects", ai, "indicators", ii, "code")
                if ind.code in seen:
                    errors.append(
                        f"{_place(source, root, path)}: kode indikator {ind.code} ganda "
                        f"(sudah dipakai di {_path_text(seen[ind.code])})"
                    )
                else:
                    seen[ind.code] = path
                outside = [n for n in ind.levels if not inst.on_scale(n)]
                if outside:
                    errors.append(
                        f"{_place(source, root, path[:-1] + ('levels',))}: tingkat {outside} di "
                        f"luar skala {inst.scale_text}"
                    )
    mins = [p.min for p in inst.predicates]
    if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
        errors.append(
            f"{_place(source, root, ('predicates',))}: batas predikat harus berurutan dari yang "
            "tertinggi ke terendah tanpa nilai ganda"
        )
    return errors


_MESSAGES = {
    "missing": "wajib diisi",
    "extra_forbidden": "kolom tidak dikenal (salah ketik?)",
    "int_parsing": "harus bilangan bulat",
    "int_type": "harus bilangan bulat",
    "int_from_float": "harus bilangan bulat",
    "float_parsing": "harus berupa angka",
    "float_type": "harus berupa angka",
    "bool_parsing": "harus true atau false",
    "bool_type": "harus true atau false",
    "string_type": "harus berupa teks",
    "string_too_short": "tidak boleh kosong",
    "too_short": "tidak boleh kosong",
    "list_type": "harus berupa daftar",
    "dict_type": "harus berupa pemetaan",
    "model_type": "harus berupa pemetaan",
    "greater_than": "harus lebih besar dari {gt}",
    "greater_than_equal": "minimal {ge}",
}


def _message(err: dict[str, Any]) -> str:
    template = _MESSAGES.get(err["type"])
    if template:
        return template.format(**(err.get("ctx") or {}))
    return str(err["msg"]).removeprefix("Value error, ")


def parse_instrument(text: str, source: str = "instrumen") -> Instrument:
    """Check and build an instrument from YAML text; raises :class:`InstrumentError`."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        where = f" baris {mark.line + 1}" if mark else ""
        raise InstrumentError(
            source, [f"{source}{where}: YAML tidak dapat dibaca: {exc}"]
        ) from None
    if not isinstance(data, dict):
        raise InstrumentError(source, [f"{source}: isi berkas harus berupa pemetaan (mapping)"])
    try:
        inst = Instrument.model_validate(data)
    except ValidationError as exc:
        errors = [
            f"{_place(source, root, tuple(err['loc']))}: {_message(err)}" for err in exc.errors()
        ]
        raise InstrumentError(source, errors) from None
    errors = _other_errors(inst, source, root) + _weight_errors(inst, source, root)
    if errors:
        raise InstrumentError(source, errors)
    return inst


@lru_cache(maxsize=32)
def _load_file(path: Path, _mtime: float) -> Instrument:
    return parse_instrument(path.read_text(encoding="utf-8"), source=path.name)


def load_instrument_file(path: Path) -> Instrument:
    path = Path(path).resolve()
    if not path.is_file():
        raise InstrumentError(str(path), [f"berkas {path} tidak ditemukan"])
    return _load_file(path, path.stat().st_mtime)


def _search_dirs() -> list[Path]:
    extra = assessment_settings().instruments_dir
    if extra and not Path(extra).is_dir():
        raise InstrumentError(
            "PEMANTIK_INSTRUMENTS_DIR", [f"PEMANTIK_INSTRUMENTS_DIR: folder {extra} tidak ada"]
        )
    dirs = [Path(extra)] if extra else []
    return [*dirs, BUILTIN_DIR]


def list_instruments() -> list[Instrument]:
    """Every instrument found: the extra folder first (it may replace a built-in code)."""
    found: dict[str, Instrument] = {}
    for folder in _search_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.y*ml")):
            inst = load_instrument_file(path)
            found.setdefault(inst.code, inst)
    return sorted(found.values(), key=lambda i: i.code)


def load_instrument(code_or_path: str | Path) -> Instrument:
    """An instrument by its code (``spbe-2020``, ``pegi``) or by a YAML file path."""
    candidate = Path(code_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        return load_instrument_file(candidate)
    code = str(code_or_path)
    for folder in _search_dirs():
        for name in (f"{code}.yaml", f"{code}.yml"):
            if (folder / name).is_file():
                inst = load_instrument_file(folder / name)
                if inst.code == code:
                    return inst
    for inst in list_instruments():
        if inst.code == code:
            return inst
    known = ", ".join(i.code for i in list_instruments())
    raise InstrumentError(code, [f"instrumen '{code}' tidak dikenal (tersedia: {known})"])
