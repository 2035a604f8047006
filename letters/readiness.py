"""Is this installation ready to send official letters? The one owner of that rule.

A real cycle refuses to start while the signatory, the lambang daerah or the contact person
is still the shipped example, or while LibreOffice is missing (letters leave only as PDF).
The demo is the one exception: it may run on the examples, and every document it makes
carries the CONTOH mark (:data:`EXAMPLE_MARK`, in the page header of every page); without
LibreOffice its documents go out as .docx, marked the same way, and it says so once.

Usage::

    problems = start_problems(get_settings())
    if problems:
        raise CycleNotReady(problems)
"""

from __future__ import annotations

from models.settings import Settings, example_settings

__all__ = ["EXAMPLE_MARK", "CycleNotReady", "demo_notice", "pdf_required", "start_problems"]

# The demo's mark, in the page header of every page of every document (and so in the PDF).
EXAMPLE_MARK: tuple[str, ...] = (
    "CONTOH",
    "Dokumen contoh dari demo PeManTIK: tidak sah dan tidak untuk ditandatangani.",
)


class CycleNotReady(ValueError):
    """A cycle may not start; the message lists every reason and the setting to change."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Siklus tidak dapat dimulai:\n" + "\n".join(f"- {p}" for p in problems))


def pdf_required(settings: Settings) -> bool:
    """Letters leave as PDF only; the demo alone may send a .docx (marked CONTOH)."""
    return not settings.demo


def start_problems(settings: Settings) -> list[str]:
    """Why a cycle may not start with these settings (empty: it may)."""
    from letters.pdf import pdf_available

    if settings.demo:
        return []
    problems = []
    examples = example_settings(settings)
    if examples:
        problems.append(
            "pengaturan berikut masih berisi contoh bawaan dan harus diganti dengan data "
            "sebenarnya (di berkas .env atau variabel lingkungan): " + "; ".join(examples)
        )
    if not pdf_available():
        problems.append(
            "LibreOffice belum terpasang, padahal surat hanya dikirim dalam bentuk PDF; pasang "
            "paket libreoffice-writer-nogui (lihat README, bagian produksi)"
        )
    return problems


def demo_notice(settings: Settings) -> str:
    """What the demo says once at its start about how its documents leave ("" if nothing)."""
    from letters.pdf import pdf_available

    if settings.demo and not pdf_available():
        return (
            "LibreOffice tidak terpasang: dokumen demo dikirim sebagai berkas .docx (bertanda "
            "CONTOH), bukan PDF. Di produksi LibreOffice wajib terpasang."
        )
    return ""
