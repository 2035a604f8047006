"""Render an email's text and HTML bodies from the Indonesian jinja2 templates.

Templates live in ``mail/templates/<name>.txt.j2`` and ``<name>.html.j2`` (HTML autoescaped).
Each template documents the ``context`` keys it reads in a jinja comment at its top. A missing
key stops rendering with :class:`TemplateContextError` naming the template and the key, so a
message is never queued with a hole in it; optional keys are tested with ``{% if key %}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from letters import formats

TEMPLATES_DIR = Path(__file__).parent / "templates"


class TemplateContextError(ValueError):
    """A template is unknown or its context lacks a value (message in Indonesian)."""


class _OptionalFalsyUndefined(jinja2.StrictUndefined):
    """Strict when printed or iterated, but false in ``{% if %}`` so optional keys stay easy."""

    def __bool__(self) -> bool:
        return False


def _as_date(value: Any) -> date:
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise TemplateContextError(f"'{value}' bukan tanggal yang sah (TTTT-BB-HH)") from None
    raise TemplateContextError(f"nilai {value!r} bukan tanggal")


def _tanggal(value: Any) -> str:
    return formats.long_date(_as_date(value))


def _tanggal_hari(value: Any) -> str:
    return formats.long_date(_as_date(value), with_day=True)


def _angka(value: Any, digits: int = 2) -> str:
    """A number the Indonesian way: 3,46 (comma decimals)."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return formats.decimal_comma(value, digits)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=_OptionalFalsyUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tanggal"] = _tanggal
    env.filters["tanggal_hari"] = _tanggal_hari
    env.filters["angka"] = _angka
    return env


def available_templates() -> list[str]:
    return sorted(
        p.name.removesuffix(".txt.j2")
        for p in TEMPLATES_DIR.glob("*.txt.j2")
        if not p.name.startswith("_")
    )


def render_bodies(template: str, values: Mapping[str, Any]) -> tuple[str, str]:
    """Return (text, html) for ``template`` rendered with ``values``."""
    if template.startswith("_") or not (TEMPLATES_DIR / f"{template}.txt.j2").is_file():
        raise TemplateContextError(
            f"templat surel '{template}' tidak dikenal; yang tersedia: "
            + ", ".join(available_templates())
        )
    env = environment()
    try:
        text = env.get_template(f"{template}.txt.j2").render(values)
        html = env.get_template(f"{template}.html.j2").render(values)
    except jinja2.UndefinedError as exc:
        raise TemplateContextError(
            f"templat surel '{template}': nilai konteks tidak lengkap ({exc.message})"
        ) from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, TemplateContextError):
            raise TemplateContextError(f"templat surel '{template}': {exc}") from None
        raise TemplateContextError(
            f"templat surel '{template}': nilai konteks tidak sesuai ({exc})"
        ) from None
    return text, html
