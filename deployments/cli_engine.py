"""``pemantik server`` (the database and the Prefect server, with credentials) and
``pemantik kredensial`` (how the admin logs in to the Prefect UI)."""

from __future__ import annotations

import os

import typer

from deployments.cli_common import console, fail
from models.settings import SettingsError, get_settings


def apply_client_environment() -> None:
    """Point this process's Prefect client at the installation's server, with its credential.

    Called before Prefect is imported (Prefect reads its settings once, at import); what the
    environment already sets wins.
    """
    from deployments.prefect_server import client_environment

    try:
        data_dir = get_settings().data_dir
    except SettingsError:
        return  # the settings check reports it
    for key, value in client_environment(data_dir).items():
        os.environ.setdefault(key, value)


def register(app: typer.Typer) -> None:
    @app.command("server")
    def server(
        host: str = typer.Option(
            os.environ.get("PREFECT_SERVER_API_HOST", "127.0.0.1"),
            "--host",
            help="Alamat yang didengarkan server Prefect (0.0.0.0 untuk semua antarmuka).",
        ),
        port: int = typer.Option(
            int(os.environ.get("PREFECT_SERVER_API_PORT", "4200")),
            "--port",
            help="Port server Prefect (UI dan API).",
        ),
    ) -> None:
        """Nyalakan basis data PeManTIK dan server Prefect (UI dengan kata sandi) sampai dihentikan."""
        import signal

        from deployments.prefect_server import LocalEngine
        from models.credentials import CredentialsError
        from models.embedded_db import EmbeddedDatabaseError

        settings = get_settings()
        engine = LocalEngine.from_settings(host, port, access_log=False)
        signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop: shut down cleanly
        try:
            engine.start()
        except (EmbeddedDatabaseError, CredentialsError) as exc:
            fail(str(exc))
        except RuntimeError as exc:
            engine.stop()
            fail(f"server Prefect tidak dapat dinyalakan: {exc}")
        try:
            where = []
            if engine.cluster is not None:
                where.append(f"basis data bawaan di {engine.cluster.pgdata}")
            if settings.database_url:
                where.append("basis data aplikasi dari PEMANTIK_DATABASE_URL")
            if settings.prefect_database_url:
                where.append("basis data Prefect dari PEMANTIK_PREFECT_DATABASE_URL")
            console.print(f"Basis data: {'; '.join(where)}.")
            console.print(f"Prefect UI: {engine.ui_url}")
            console.print(login_hint(engine.credentials.prefect_user))
            console.print(f"Log server: {engine.log_path}. Tekan Ctrl+C untuk berhenti.")
            engine.wait()
        except KeyboardInterrupt:
            pass
        finally:
            engine.stop()
            console.print("Server PeManTIK berhenti.")

    @app.command("kredensial")
    def kredensial() -> None:
        """Tampilkan nama pengguna dan kata sandi UI Prefect instalasi ini (hanya untuk admin)."""
        from deployments.prefect_server import running_server_url
        from models.credentials import CredentialsError, load_credentials

        data_dir = get_settings().data_dir
        try:
            creds = load_credentials(data_dir)
        except CredentialsError as exc:
            fail(str(exc))
        console.print(f"Pengguna: {creds.prefect_user}", highlight=False)
        console.print(f"Kata sandi: {creds.prefect_password}", highlight=False)
        url = running_server_url(data_dir)
        if url:
            console.print(f"Prefect UI: {url.removesuffix('/api')}", highlight=False)
        console.print(
            f"Berkas: {creds.path} (hanya dapat dibaca pemiliknya). Di halaman masuk UI "
            f"Prefect, isikan {creds.prefect_user}:<kata sandi> pada satu isian.",
            highlight=False,
        )


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def login_hint(user: str, data_dir_note: str = "") -> str:
    """How the admin logs in to the UI, without the password itself."""
    return (
        f"Masuk UI: isikan {user}:<kata sandi> pada halaman masuk. Kata sandi ada di berkas "
        f"kredensial{data_dir_note}; perintah `pemantik kredensial` menampilkannya."
    )
