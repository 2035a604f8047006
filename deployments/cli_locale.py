"""Indonesian wording for the help screens Typer draws itself (panel titles, the --help option,
default/required markers), so everything an admin reads from ``pemantik`` is in Indonesian.

Typer keeps these strings as module-level names of ``typer.rich_utils`` that its functions look
up when they draw, and builds the ``--help`` option with a fixed English text; both are set here
once, at import of the CLI.
"""

from __future__ import annotations

from typing import Any

import typer.rich_utils as rich_utils
from typer._click import core as click_core

PANEL_TEXT = {
    "ARGUMENTS_PANEL_TITLE": "Argumen",
    "OPTIONS_PANEL_TITLE": "Opsi",
    "COMMANDS_PANEL_TITLE": "Perintah",
    "ERRORS_PANEL_TITLE": "Galat",
    "DEFAULT_STRING": "[bawaan: {}]",
    "REQUIRED_LONG_STRING": "[wajib]",
    "ENVVAR_STRING": "[variabel lingkungan: {}]",
    "DEPRECATED_STRING": "(usang) ",
    "ABORTED_TEXT": "Dibatalkan.",
    "RICH_HELP": "Coba [blue]'{command_path} {help_option}'[/] untuk bantuan.",
}
HELP_OPTION_TEXT = "Tampilkan bantuan ini lalu keluar."


def install() -> None:
    for name, text in PANEL_TEXT.items():
        if hasattr(rich_utils, name):
            setattr(rich_utils, name, text)
    original = click_core.Command.get_help_option
    if getattr(original, "_pemantik", False):
        return

    def get_help_option(self: Any, ctx: Any) -> Any:
        option = original(self, ctx)
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option

    get_help_option._pemantik = True  # type: ignore[attr-defined]
    click_core.Command.get_help_option = get_help_option  # type: ignore[method-assign]
