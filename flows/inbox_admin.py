"""The admin's form for the inbound mailbox (Prefect layer only): release a quarantined message.

The logic is :func:`inbox.act.release`; the admin finds the message's number in the notice
email about it (the original is attached there to be checked).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel, Field


class LepasKarantina(BaseModel):
    nomor: int = Field(
        ...,
        ge=1,
        title="Nomor surel masuk",
        description="Nomor pada surel pemberitahuan karantina yang diterima admin.",
    )
    oleh: str = Field(..., min_length=1, title="Nama admin yang melepaskan")
    wilayah: str = Field(
        "",
        title="Kode wilayah (bila perlu)",
        description="Isi hanya bila surel tidak membalas surat PeManTIK, mis. 64.72.",
    )


@flow(name="lepas-karantina")
def release_flow(masukan: LepasKarantina) -> dict[str, Any]:
    """Lepaskan surel masuk yang dikarantina setelah diperiksa: surel diproses seolah-olah
    dikirim oleh PIC Kab/Kota atau asesor yang terdaftar, dan nama admin dicatat."""
    from inbox.act import ReleaseRefused, release
    from inbox.reader import ReadReport, deliver
    from models.settings import get_settings

    try:
        outcome = release(masukan.nomor, f"{masukan.oleh} (Prefect UI)", region=masukan.wilayah)
    except ReleaseRefused as exc:
        raise ValueError(f"Surel tidak dapat dilepaskan: {exc}") from None
    report = ReadReport("lepas-karantina")
    deliver(report, outcome.keys, get_settings())
    get_run_logger().info("Surel nomor %s: %s", masukan.nomor, outcome.action)
    create_markdown_artifact(
        key="lepas-karantina",
        markdown=f"**Surel masuk nomor {masukan.nomor}**\n\n{outcome.action}",
        description="Hasil pelepasan surel dari karantina",
    )
    return {"nomor": masukan.nomor, "status": outcome.state, "tindakan": outcome.action}


def release_deployment():  # noqa: ANN201 - a prefect RunnerDeployment
    return release_flow.to_deployment(name="lepas-karantina", tags=["pemantik", "admin"])
