"""Errors of the letters package; every message is Indonesian and names the document and field."""

from __future__ import annotations

from pydantic import ValidationError

# Indonesian wording for the pydantic error types the input models can raise.
_PYDANTIC_MESSAGES = {
    "missing": "wajib diisi",
    "string_too_short": "tidak boleh kosong",
    "string_type": "harus berupa teks",
    "int_type": "harus berupa bilangan bulat",
    "int_parsing": "harus berupa bilangan bulat",
    "float_parsing": "harus berupa angka",
    "float_type": "harus berupa angka",
    "date_from_datetime_parsing": "bukan tanggal yang sah (format TTTT-BB-HH)",
    "date_parsing": "bukan tanggal yang sah (format TTTT-BB-HH)",
    "date_type": "bukan tanggal yang sah (format TTTT-BB-HH)",
    "datetime_parsing": "bukan waktu yang sah",
    "list_type": "harus berupa daftar",
    "dict_type": "harus berupa objek",
    "model_type": "harus berupa objek",
    "extra_forbidden": "tidak dikenal",
    "greater_than_equal": "terlalu kecil",
    "less_than_equal": "terlalu besar",
    "too_short": "tidak boleh kosong",
}


class LetterError(ValueError):
    """A document cannot be made; nothing was written and no number was taken."""

    def __init__(self, message: str, *, kind: str = "", field: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.field = field


class LetterInputError(LetterError):
    """The input of a document failed validation."""


class TemplateProblem(LetterError):
    """A wording template is missing, broken, or refers to an unknown field."""


def describe_input_error(exc: ValidationError, title: str, kind: str) -> LetterInputError:
    """Turn a pydantic error into one Indonesian message naming every wrong field."""
    lines = []
    first_field = ""
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(masukan)"
        first_field = first_field or field
        if err["type"] == "value_error":
            # Our own validators already speak Indonesian; pydantic prefixes "Value error, ".
            msg = str(err["msg"]).removeprefix("Value error, ")
        else:
            msg = _PYDANTIC_MESSAGES.get(err["type"], err["msg"])
        lines.append(f"  kolom '{field}': {msg}")
    message = f"{title} ({kind}) tidak dapat dibuat, masukan tidak valid:\n" + "\n".join(lines)
    return LetterInputError(message, kind=kind, field=first_field)
