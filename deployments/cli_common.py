"""Shared pieces of the ``pemantik`` command: console, error exit, database bootstrap."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console

from models.settings import SettingsError, get_settings

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    """Print an Indonesian error message and stop the command."""
    err_console.print(f"[bold red]Galat:[/] {message}", highlight=False)
    raise typer.Exit(code)


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: '{value}' bukan tanggal yang sah (format TTTT-BB-HH, mis. 2026-07-01)")
        raise  # unreachable, keeps type checkers calm


def ready_database() -> str:
    """Check the settings, migrate the database and load the shipped reference data."""
    from models.db import migrate, session_scope
    from models.registry import ensure_reference_data

    try:
        url = get_settings().db_url
    except SettingsError as exc:
        fail(str(exc), code=2)
    migrate(url)
    with session_scope(url) as session:
        ensure_reference_data(session)
    return url


YEAR_HELP = "Tahun siklus (bawaan: siklus yang sedang berjalan, atau tahun ini)."
