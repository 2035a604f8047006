"""STARTTLS / implicit TLS with a certificate made in the test (trustme), and AUTH."""

from __future__ import annotations

import logging
import ssl
from datetime import date
from pathlib import Path

import pytest
import trustme

from mail.outbox import deliver_pending_sync, enqueue
from mail.sink import password_authenticator, start_sink
from models.db import session_scope
from models.settings import Settings, load_settings
from models.tables import Dispatch, DispatchState

USER, PASSWORD = "pemantik", "rahasia-Sangat-9"


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def queue(url: str, settings: Settings) -> int:
    with session_scope(url) as s:
        row = enqueue(
            s,
            key="tls-uji",
            recipient="pic@samarinda.go.id",
            subject="Uji TLS",
            template="umum",
            context={"paragraf": ["Isi rahasia."]},
            settings=settings,
        )
        return row.id


def settings_for(port: int, **smtp: object) -> Settings:
    return load_settings(smtp={"host": "127.0.0.1", "port": port, "retry_base_seconds": 0, **smtp})


def test_starttls_with_auth(db_url: str, tmp_path: Path, server_ctx, ca_file) -> None:
    with start_sink(
        tmp_path / "maildir",
        starttls_context=server_ctx,
        require_starttls=True,
        authenticator=password_authenticator({USER: PASSWORD}),
        auth_required=True,
    ) as sink:
        settings = settings_for(
            sink.port, security="starttls", user=USER, password=PASSWORD, ca_file=ca_file
        )
        row_id = queue(db_url, settings)
        report = deliver_pending_sync(db_url, settings=settings)
        assert [o.id for o in report.sent] == [row_id]
        [msg] = sink.messages()
        assert "Isi rahasia." in msg.get_body(("plain",)).get_content()


def test_plain_client_is_refused_by_a_starttls_server(
    db_url: str, tmp_path: Path, server_ctx
) -> None:
    with start_sink(
        tmp_path / "maildir",
        starttls_context=server_ctx,
        require_starttls=True,
        authenticator=password_authenticator({USER: PASSWORD}),
        auth_required=True,
    ) as sink:
        settings = settings_for(sink.port, security="plain")
        row_id = queue(db_url, settings)
        report = deliver_pending_sync(db_url, settings=settings)
        assert not report.sent
        assert sink.messages() == []
        with session_scope(db_url) as s:
            assert s.get(Dispatch, row_id).state != DispatchState.SENT


def test_wrong_password_fails_without_leaking_it(
    db_url: str, tmp_path: Path, server_ctx, ca_file, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    with start_sink(
        tmp_path / "maildir",
        starttls_context=server_ctx,
        require_starttls=True,
        authenticator=password_authenticator({USER: PASSWORD}),
        auth_required=True,
    ) as sink:
        wrong = "salah-Sekali-77"
        settings = settings_for(
            sink.port, security="starttls", user=USER, password=wrong, ca_file=ca_file
        )
        row_id = queue(db_url, settings)
        report = deliver_pending_sync(db_url, settings=settings)
        assert row_id in [o.id for o in report.failed]  # (the admin notice fails the same way)
        with session_scope(db_url) as s:
            row = s.get(Dispatch, row_id)
            assert row.state == DispatchState.FAILED and "autentikasi" in row.error
            assert wrong not in row.error and wrong not in row.smtp_reply
        assert wrong not in caplog.text
        assert wrong not in repr(settings) and wrong not in str(settings.model_dump())


def test_untrusted_certificate_is_not_accepted(db_url: str, tmp_path: Path, server_ctx) -> None:
    with start_sink(
        tmp_path / "maildir", starttls_context=server_ctx, require_starttls=True
    ) as sink:
        settings = settings_for(sink.port, security="starttls")  # no ca_file: test CA unknown
        row_id = queue(db_url, settings)
        report = deliver_pending_sync(db_url, settings=settings)
        assert not report.sent and sink.messages() == []
        with session_scope(db_url) as s:
            row = s.get(Dispatch, row_id)
            assert row.state == DispatchState.FAILED and "TLS gagal" in row.error


def test_implicit_tls(db_url: str, tmp_path: Path, server_ctx, ca_file) -> None:
    with start_sink(tmp_path / "maildir", implicit_tls_context=server_ctx) as sink:
        settings = settings_for(sink.port, security="tls", ca_file=ca_file)
        row_id = queue(db_url, settings)
        report = deliver_pending_sync(db_url, settings=settings)
        assert [o.id for o in report.sent] == [row_id]
        assert len(sink.messages()) == 1


def test_template_dates_render(db_url: str) -> None:
    # A smoke check that date filters accept ISO strings too (values from JSON inputs).
    settings = settings_for(8025)
    with session_scope(db_url) as s:
        row = enqueue(
            s,
            key="iso",
            recipient="pic@samarinda.go.id",
            subject="Pengingat",
            template="pengingat",
            context={"year": 2026, "pending": "pengembalian kuesioner", "due_date": "2026-07-10"},
            settings=settings,
        )
        assert "Jumat, 10 Juli 2026" in row.body_text
        assert date(2026, 7, 10).year == 2026
