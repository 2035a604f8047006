"""Where a person finds things on the product's web app (the portal): one owner for every URL
the product writes into an artifact, an email or a page.

The base is ``settings.portal_url`` (``PEMANTIK_PORTAL_URL``; in production the public HTTPS
address of the reverse proxy). The routes behind these paths are served by ``portal/``; the
admin's document views sit behind the admin's credentials, a personal link opens the portal as
one person for one cycle.
"""

from __future__ import annotations

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
