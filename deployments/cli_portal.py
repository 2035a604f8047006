"""``pemantik portal`` (serve the portal) and ``pemantik tautan`` (a person's personal link)."""

from __future__ import annotations

import typer

from deployments.cli_common import console, fail, ready_database


def register(app: typer.Typer) -> None:
    app.command("portal")(portal)
    app.command("tautan")(tautan)


def portal(
    host: str = typer.Option(None, "--host", help="Alamat yang didengarkan (bawaan: pengaturan)."),
    port: int = typer.Option(None, "--port", help="Port yang didengarkan (bawaan: 8600)."),
) -> None:
    """Jalankan portal PeManTIK (halaman petugas Kab/Kota, asesor, dan papan siklus admin)."""
    import uvicorn

    from models.settings import get_settings
    from portal.server import portal_config

    ready_database()
    settings = get_settings()
    host = host or settings.portal.host
    port = port or settings.portal.port
    console.print(
        f"Portal PeManTIK berjalan di http://{host}:{port} (alamat publik: {settings.portal_url})"
    )
    uvicorn.Server(portal_config(host, port)).run()


def tautan(
    siklus: int = typer.Option(..., "--siklus", help="Tahun siklus, mis. 2026."),
    wilayah: str = typer.Option("", "--wilayah", help="Kode Kab/Kota, mis. 64.72."),
    asesor: str = typer.Option("", "--asesor", help="Alamat surel asesor."),
    admin: bool = typer.Option(False, "--admin", help="Tautan admin (papan siklus dan dokumen)."),
    cabut: bool = typer.Option(False, "--cabut", help="Cabut tautan orang ini."),
    ulang: bool = typer.Option(
        False, "--terbitkan-ulang", help="Cabut tautan lama, buat yang baru, dan kirim surel."
    ),
) -> None:
    """Tampilkan, cabut, atau terbitkan ulang tautan pribadi seseorang untuk satu siklus."""
    from models.audit import record_step
    from models.db import session_scope
    from models.tokens import personal_token, reissue, revoke
    from services.context import NotFound, cycle_by_year, get_assessor_by_email, get_region
    from services.links import personal_url

    ready_database()
    if sum(bool(x) for x in (wilayah, asesor, admin)) != 1:
        fail("Sebutkan tepat satu orang: --wilayah KODE, --asesor SUREL, atau --admin.")
    with session_scope() as session:
        try:
            cycle = cycle_by_year(session, siklus)
            region_code = get_region(session, wilayah).code if wilayah else None
            assessor_id = get_assessor_by_email(session, asesor).id if asesor else None
        except (NotFound, LookupError) as exc:
            fail(str(exc))
        role = "wilayah" if wilayah else "asesor" if asesor else "admin"
        who = {"region_code": region_code, "assessor_id": assessor_id}
        if cabut or ulang:
            (reissue if ulang else revoke)(session, cycle.id, role, "admin (CLI)", **who)
            record_step(
                session,
                cycle_id=cycle.id,
                region_code=region_code,
                assessor_id=assessor_id,
                step_no=6 if role == "asesor" else 1,
                event="tautan_diterbitkan" if ulang else "tautan_dicabut",
                outcome="tautan pribadi " + ("diterbitkan ulang" if ulang else "dicabut"),
                who="admin (CLI)",
            )
        token = None if cabut else personal_token(session, cycle.id, role, **who)
        cycle_id = cycle.id
    if cabut:
        console.print("Tautan pribadi dicabut.")
        return
    if ulang and role != "admin":
        from portal.pages import send_new_link

        send_new_link(cycle_id, role, region_code, assessor_id)
        console.print("Tautan baru diterbitkan dan dikirim melalui surel.")
    console.print(personal_url(token), highlight=False, soft_wrap=True)
