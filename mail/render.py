"""Render an email's text and HTML bodies from the Indonesian jinja2 templates.

Templates live in ``mail/templates/<name>.txt.j2`` and ``<name>.html.j2`` (HTML autoescaped);
a phase's templates sit in its folder (``invitation/undangan``), shared ones at the top.
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


def _memoised(original: Any) -> Any:
    """A date filter that formats each distinct date once per process (thousands of
    reminders a day share a handful of due dates; babel's formatting dominates otherwise)."""
    cached = lru_cache(maxsize=4096)(original)

    def apply(value: Any) -> str:
        if isinstance(value, date) and not isinstance(value, datetime):
            return cached(value)
        return original(value)

    return apply


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    # Templates change on deploy, not while the product runs: no file check per message.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        auto_reload=False,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=_OptionalFalsyUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tanggal"] = _memoised(_tanggal)
    env.filters["tanggal_hari"] = _memoised(_tanggal_hari)
    env.filters["angka"] = _angka
    return env


@lru_cache(maxsize=1)
def available_templates() -> tuple[str, ...]:
    """Every template name, e.g. ``umum`` or ``invitation/undangan`` (a phase's templates sit
    in the phase's folder)."""
    return tuple(
        sorted(
            p.relative_to(TEMPLATES_DIR).as_posix().removesuffix(".txt.j2")
            for p in TEMPLATES_DIR.rglob("*.txt.j2")
            if not p.name.startswith("_")
        )
    )


def render_bodies(template: str, values: Mapping[str, Any]) -> tuple[str, str]:
    """Return (text, html) for ``template`` rendered with ``values``."""
    if template not in available_templates():
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
