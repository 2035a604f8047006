"""Admin actions as deployments: the UI's Custom run shows each one's parameters as a form.

Each deployment is named for what it does; its fields carry Indonesian titles and
descriptions. A refused action ends the run Failed with one Indonesian sentence as its state
message and one error line in the run's log (no traceback, no CLI options).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from prefect import flow
from prefect.states import Failed
from pydantic import Field

from flows.runlog import run_logger
from models import clock
from services import admin
from services.context import NotFound
from services.stage import NotWaiting

WHO = "admin (Prefect UI)"


def label(default: Any, title: str, description: str | None = None) -> Any:
    """A flow parameter's default with its form label. Prefect titles a flow parameter by
    its name and keeps only the Field's default and description (Prefect 3.9), so the label
    goes in through ``json_schema_extra``, which it merges into the schema last."""
    return Field(default, title=title, description=description, json_schema_extra={"title": title})


REFUSALS: tuple[type[Exception], ...] = (admin.AdminRefused, NotFound, NotWaiting)


def sentence(text: str) -> str:
    """One sentence a person reads: capitalised, ending with a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def refused_as_failed(action: str, call: Callable[[], Any], *refusals: type[Exception]) -> Any:
    """Run ``call``; an expected refusal ends the run Failed with one sentence (no traceback)."""
    try:
        result = call()
    except (*REFUSALS, *refusals) as exc:
        message = sentence(f"{action} tidak dilakukan: {exc}")
        run_logger().error(message)
        return Failed(message=message)
    run_logger().info("%s selesai: %s", action, result)
    return result


@flow(name="kirim-ulang-surat")
def resend_flow(
    nomor_surat: str = label(..., "Nomor surat", description="Nomor surat yang dikirim ulang."),
    alasan: str = label(..., "Alasan pengiriman ulang", description="Wajib diisi."),
) -> Any:
    """Kirim ulang sebuah surat kepada penerimanya (dalam utas surel yang sama)."""
    return refused_as_failed(
        "Pengiriman ulang surat", lambda: admin.resend_letter(nomor_surat, alasan, who=WHO)
    )


@flow(name="pindah-jadwal-penilaian")
def move_date_flow(
    wilayah: str = label(..., "Kode wilayah", description="Kode Kemendagri, mis. 64.72."),
    tanggal_baru: date = label(..., "Tanggal penilaian baru", description="Hari kerja."),
    alasan: str = label(..., "Alasan perubahan jadwal", description="Wajib diisi."),
    siklus: int = label(clock.today().year, "Tahun siklus"),
) -> Any:
    """Pindahkan tanggal penilaian sebuah Kab/Kota; Surat Undangan baru dikirim."""
    return refused_as_failed(
        "Pemindahan jadwal penilaian",
        lambda: admin.move_session_date(siklus, wilayah, tanggal_baru, alasan, who=WHO),
    )


@flow(name="ganti-asesor")
def replace_assessor_flow(
    wilayah: str = label(..., "Kode wilayah", description="Kode Kemendagri, mis. 64.72."),
    asesor_lama: str = label(..., "Email asesor yang diganti"),
    asesor_baru: str = label(
        ..., "Email asesor pengganti", description="Asesor terdaftar yang sudah bersedia."
    ),
    pernyataan_benturan_kepentingan: str = label(
        ...,
        "Pernyataan benturan kepentingan asesor pengganti",
        description="Mis. «Tidak ada benturan kepentingan».",
    ),
    alasan: str = label(..., "Alasan penggantian", description="Wajib diisi."),
    siklus: int = label(clock.today().year, "Tahun siklus"),
) -> Any:
    """Ganti asesor sebuah Kab/Kota; asesor pengganti menerima Surat Permohonan."""
    return refused_as_failed(
        "Penggantian asesor",
        lambda: admin.replace_assessor(
            siklus,
            wilayah,
            asesor_lama,
            asesor_baru,
            pernyataan_benturan_kepentingan,
            alasan,
            who=WHO,
        ),
    )


@flow(name="tutup-siklus")
def close_cycle_flow(
    alasan: str = label(..., "Alasan penutupan", description="Wajib diisi."),
    siklus: int = label(clock.today().year, "Tahun siklus"),
) -> Any:
    """Tutup siklus sekarang: alur wilayah yang belum selesai dihentikan, langkah 14 dibuat
    dengan wilayah yang belum selesai disebutkan."""
    return refused_as_failed("Penutupan siklus", lambda: admin.close_cycle(siklus, alasan, who=WHO))


@flow(name="sahkan-surat")
def sign_off_flow(
    nomor_surat: str = label(..., "Nomor surat", description="Surat yang menunggu pengesahan."),
    berkas_pdf: str = label(
        "",
        "PDF bertanda tangan elektronik (opsional)",
        description="Lokasi berkas PDF yang telah ditandatangani dengan sertifikat elektronik, "
        "di server PeManTIK; berkas inilah yang dikirim. Kosongkan untuk menyetujui surat "
        "dengan PDF buatan sistem.",
    ),
    disahkan_oleh: str = label(WHO, "Disahkan oleh"),
) -> Any:
    """Sahkan surat yang menunggu pengesahan (setujui, atau kirim PDF bertanda tangan
    elektronik), lalu kirim surat itu."""
    from pathlib import Path

    from services.signoff import sign_off
    from services.stage import InputRefused

    pdf = Path(berkas_pdf.strip()) if berkas_pdf.strip() else None
    return refused_as_failed(
        "Pengesahan surat",
        lambda: sign_off(nomor_surat, signed_pdf=pdf, via="ui", who=disahkan_oleh),
        InputRefused,
    )


def admin_pairs() -> list:
    flows = [resend_flow, move_date_flow, replace_assessor_flow, close_cycle_flow, sign_off_flow]
    return [(f, f.to_deployment(name=f.name, tags=["pemantik", "admin"])) for f in flows]
