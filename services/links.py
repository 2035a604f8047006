"""Where a person finds things on the product's web app (the portal): one owner for every URL
the product writes into an artifact, an email or a page.

The base is ``settings.portal_url`` (``PEMANTIK_PORTAL_URL``; in production the public HTTPS
address of the reverse proxy). The routes behind these paths are served by ``portal/``; the
admin's document views sit behind the admin's credentials, a personal link opens the portal as
one person for one cycle.
"""

from __future__ import annotations

from typing import Any

from models.settings import get_settings


def _base() -> str:
    return get_settings().portal_url.rstrip("/")


def letter_url(letter_id: int) -> str:
    """A numbered letter (its PDF, else its .docx), for the admin."""
    return f"{_base()}/berkas/surat/{letter_id}"


def document_url(document_id: int) -> str:
    """An unnumbered document (Formulir, Laporan, workbook), for the admin."""
    return f"{_base()}/berkas/dokumen/{document_id}"


def board_url(cycle_id: int) -> str:
    """The read-only cycle board (regions × steps), for the admin."""
    return f"{_base()}/papan/{cycle_id}"


def personal_url(token: str) -> str:
    """The link that opens the portal as one person for one cycle (the token is secret)."""
    return f"{_base()}/t/{token}"


def flow_run_url(flow_run_id: str) -> str:
    """A flow run's page in the Prefect UI (where the admin answers its wait)."""
    import os

    api = os.environ.get("PREFECT_UI_URL") or os.environ.get("PREFECT_API_URL", "")
    ui = api.rstrip("/").removesuffix("/api")
    return f"{ui}/runs/flow-run/{flow_run_id}"


def letter_text(letter: Any, region_names: dict[str, str] | None = None) -> str:
    """The text of a link to a letter: its kind, whom it concerns, its number — e.g.
    "Berita Acara — Kota Samarinda — 000.5/12/Diskominfo/2026"."""
    from letters.inputs import KIND_TITLES

    kind = KIND_TITLES.get(letter.kind, letter.kind)
    names = region_names or {}
    party = names.get(letter.region_code or "", "") or letter.addressee or ""
    return " — ".join(p for p in (kind, party, letter.number) if p)
