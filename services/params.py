"""The cycle's parameters: one pydantic model, and the flat form the Prefect UI's Custom run
shows for it.

``CycleParams`` is the validated, stored shape (``Cycle.params``). The Custom run form is built
from it (``form_schema``): its fields sit at the top (the cycle flow takes them as keyword
parameters, ``form_signature``), the regions, instrument and assessors are pick lists built from
the data, dates have no "None" switch, every SOP step's duration is a named field, and the start
date left empty is worked out when the run starts (``from_form``), never when ``serve`` started.
"""

from __future__ import annotations

import inspect
import re
from datetime import date
from typing import Any

from pydantic import BaseModel, Field, field_validator

from models import clock
from models.sop import SopStep, sop_steps


class CycleParams(BaseModel):
    """Parameter siklus PeManTIK (formulir "Custom run" di Prefect UI)."""

    year: int = Field(
        default_factory=lambda: clock.today().year, ge=2000, le=2100, title="Tahun siklus"
    )
    regions: list[str] = Field(
        default_factory=list,
        title="Kab/Kota yang dinilai",
        description="Kosongkan untuk semua Kab/Kota yang aktif.",
    )
    instrument: str = Field("spbe-2020", title="Instrumen penilaian")
    assessor_pool: list[str] = Field(
        default_factory=list,
        title="Asesor yang dapat ditugaskan",
        description="Kosongkan untuk semua asesor yang aktif.",
    )
    assessors_per_region: int = Field(2, ge=1, le=5, title="Jumlah asesor per Kab/Kota")
    start_date: date = Field(
        default_factory=clock.today,
        title="Tanggal mulai",
        description="Kosongkan untuk memulai pada hari siklus dijalankan.",
    )
    session_date: date | None = Field(
        None,
        title="Tanggal penilaian",
        description="Kosongkan untuk dihitung dari rencana SOP.",
    )
    session_time: str = Field("09.00", title="Waktu mulai penilaian (WITA)")
    venue: str = Field("Ruang Rapat Diskominfo Prov. Kaltim, Samarinda", title="Tempat pelaksanaan")
    online_link: str = Field("", title="Tautan daring (jika ada)")
    agenda: str = Field(
        "Penilaian Penguatan Manajemen Tata Kelola TIK (PeManTIK) Kabupaten/Kota",
        title="Acara",
    )
    reschedule_working_days: int = Field(
        5,
        ge=1,
        le=30,
        title="Penjadwalan ulang (hari kerja)",
        description="Jika Kab/Kota tidak dapat hadir, tanggal baru = tanggal semula + N hari kerja.",
    )
    step_overrides: dict[str, int] = Field(
        default_factory=dict,
        title="Lama langkah (hari kerja)",
        description='Mengganti lama langkah SOP, mis. {"3": 10} untuk kuesioner 10 hari kerja.',
    )

    @field_validator("regions")
    @classmethod
    def _region_codes(cls, values: list[str]) -> list[str]:
        return [_code_of(v) for v in values if v.strip()]

    @field_validator("assessor_pool")
    @classmethod
    def _assessor_emails(cls, values: list[str]) -> list[str]:
        return [_email_of(v) for v in values if v.strip()]

    @field_validator("step_overrides")
    @classmethod
    def _known_steps(cls, value: dict[str, int]) -> dict[str, int]:
        for key, days in value.items():
            if not key.isdigit() or not 1 <= int(key) <= 14:
                raise ValueError(f"langkah '{key}' tidak ada (1–14)")
            if days < 1:
                raise ValueError(f"lama langkah {key} harus minimal 1 hari kerja")
        return value


# --- the Custom run form --------------------------------------------------------------------

# Fields of CycleParams the form shows as they are; ``step_overrides`` becomes one named field
# per SOP step (``step_field``).
PLAIN_FIELDS = tuple(name for name in CycleParams.model_fields if name != "step_overrides")
# What the admin must decide (the UI marks the others "Optional": they may stay empty).
REQUIRED_FIELDS = (
    "year",
    "instrument",
    "assessors_per_region",
    "session_time",
    "venue",
    "agenda",
    "reschedule_working_days",
)


def region_label(code: str, name: str) -> str:
    """A region as the pick list shows it, e.g. "64.72 Kota Samarinda" (the code leads)."""
    return f"{code} {name}"


def assessor_label(name: str, email: str) -> str:
    """An assessor as the pick list shows it, e.g. "Budi Santoso <budi@contoh.example>"."""
    return f"{name} <{email}>"


def _code_of(value: str) -> str:
    """The region code of a code or a pick-list label."""
    return value.strip().split()[0]


def _email_of(value: str) -> str:
    """The email of an email or a pick-list label."""
    found = re.search(r"<([^<>]+)>\s*$", value)
    return (found.group(1) if found else value).strip()


def step_field(step: SopStep) -> str:
    """The form field of a step's duration, e.g. ``lama_isi_kuesioner``."""
    return "lama_" + step.key.replace("-", "_")


def _step_title(step: SopStep) -> str:
    name = re.sub(r"^\d+\s*", "", step.task_name)
    return f"Lama langkah: {name} (hari kerja)"


def form_fields() -> tuple[str, ...]:
    """Every field of the Custom run form, in the order shown."""
    return (*PLAIN_FIELDS, *(step_field(s) for s in sop_steps()))


def form_signature() -> inspect.Signature:
    """The cycle flow's keyword parameters: one per form field; a field left empty is None
    (the flow fills it in when it runs, see :func:`from_form`)."""
    params = []
    for name in form_fields():
        field = CycleParams.model_fields.get(name)
        default = None
        if field is not None and field.default_factory is None:
            default = field.default
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default))
    return inspect.Signature(params, return_annotation=dict[str, Any])


def from_form(values: dict[str, Any]) -> CycleParams:
    """The parameters of a run of the cycle flow (flat form fields) as ``CycleParams``.

    Empty fields take the model's default as of now: an empty start date is today (the clock's
    today, when the run starts). A step duration equal to the SOP's is no override.
    """
    data: dict[str, Any] = {}
    for name in PLAIN_FIELDS:
        value = values.get(name)
        if value is not None and value != "":
            data[name] = value
    overrides = dict(values.get("step_overrides") or {})
    for step in sop_steps():
        days = values.get(step_field(step))
        if days is not None and days != "" and int(days) != step.sla_days:
            overrides[str(step.number)] = int(days)
    if overrides:
        data["step_overrides"] = overrides
    return CycleParams.model_validate(data)


def form_choices() -> dict[str, list[str]]:
    """The pick lists, from the data: active regions and assessors, the instruments found."""
    from sqlalchemy.exc import DBAPIError
    from sqlmodel import select

    from models.db import session_scope
    from models.registry import ensure_reference_data
    from models.tables import Assessor, Region

    try:
        with session_scope() as session:
            ensure_reference_data(session)
            regions = session.exec(select(Region).where(Region.active == True)).all()  # noqa: E712
            assessors = session.exec(select(Assessor).where(Assessor.active == True)).all()  # noqa: E712
            return _choices(regions, assessors)
    except DBAPIError:  # no tables yet (nothing migrated): the shipped reference data
        from models.registry import (
            DEFAULT_ASSESSORS_FILE,
            DEFAULT_REGIONS_FILE,
            parse_assessors,
            parse_regions,
        )

        regions = parse_regions(DEFAULT_REGIONS_FILE.read_text(encoding="utf-8"))
        text = DEFAULT_ASSESSORS_FILE.read_text(encoding="utf-8")
        assessors = parse_assessors(text, {r.code for r in regions})
        return _choices(regions, assessors)


def _choices(regions: list, assessors: list) -> dict[str, list[str]]:
    from assessment.instruments import list_instruments

    return {
        "regions": [region_label(r.code, r.name) for r in sorted(regions, key=lambda r: r.code)],
        "assessor_pool": [
            assessor_label(a.name, a.email) for a in sorted(assessors, key=lambda a: a.name)
        ],
        "instrument": [i.code for i in list_instruments()],
    }


def form_schema(choices: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The Custom run form's JSON schema (the deployment's ``parameter_openapi_schema``)."""
    choices = form_choices() if choices is None else choices
    model = CycleParams.model_json_schema()["properties"]
    properties: dict[str, Any] = {}
    for position, name in enumerate(PLAIN_FIELDS):
        prop = {k: v for k, v in model[name].items() if k != "anyOf"}
        if "anyOf" in model[name]:  # ``date | None``: the date alone, no type switch
            prop.update(next(s for s in model[name]["anyOf"] if s.get("type") != "null"))
        if name == "start_date":
            prop.pop("default", None)
        if name == "year":  # this year, as the form is registered (each start of serving)
            prop["default"] = clock.today().year
        if prop.get("default") is None:
            prop.pop("default", None)
        if name in ("regions", "assessor_pool"):
            prop["items"] = {"type": "string", "enum": choices[name]}
            prop["uniqueItems"] = True
        elif name == "instrument":
            prop["enum"] = choices[name]
        prop["position"] = position
        properties[name] = prop
    for offset, step in enumerate(sop_steps(), start=len(PLAIN_FIELDS)):
        properties[step_field(step)] = {
            "type": "integer",
            "title": _step_title(step),
            "default": step.sla_days,
            "minimum": 0 if step.sla_days == 0 else 1,
            "position": offset,
        }
    return {
        "title": "Parameters",
        "type": "object",
        "properties": properties,
        "required": list(REQUIRED_FIELDS),
        "definitions": {},
    }
