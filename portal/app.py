"""The portal's web app (FastAPI + Jinja2, server-rendered, plain forms).

Routes (every text a person reads is formal Indonesian):

- ``/t/<token>`` — a personal link: the officer's, the assessor's or the admin's page;
  ``/t/<token>/kuesioner``, ``/bukti``, ``/konfirmasi``, ``/terima``, ``/nilai/<region>``,
  ``/surat/<id>`` behind it;
- ``/admin``, ``/papan/<cycle>``, ``/berkas/surat/<id>``, ``/berkas/dokumen/<id>``,
  ``/admin/tautan/<cycle>`` — the admin's read-only views and the link management, behind the
  installation's basic-auth credentials or the admin's own link.

Inputs go through ``services.waits.submit`` (the one door). Files are served as attachments
only, with ``nosniff``; pages are never cached and never send a Referer.
"""

from __future__ import annotations

import inspect
import logging
import mimetypes
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session, select
from starlette.datastructures import UploadFile

from letters import formats
from models import clock
from models.db import session_scope
from models.settings import get_settings
from models.tables import (
    Assessor,
    Assignment,
    AssignmentState,
    Cycle,
    Document,
    EvidenceFile,
    Letter,
    Region,
    Wait,
    WaitState,
)
from models.tokens import TokenCheck, check_token, token_hash
from portal import security

log = logging.getLogger("pemantik.portal")
TEMPLATES = Path(__file__).parent / "templates"
VIA = "portal"
# How a cycle's state reads on the admin's page.
CYCLE_STATES = {
    "draft": "belum dimulai",
    "running": "berjalan",
    "closing": "sedang ditutup",
    "reported": "selesai dan dilaporkan",
}

env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["tanggal"] = lambda d: formats.long_date(d, with_day=True) if d else "-"
env.filters["awal"] = lambda s: (s[:1].upper() + s[1:]) if s else ""
env.filters["ukuran"] = formats.file_size
env.filters["waktu"] = lambda t: formats.timestamp(t) if t else "-"


@dataclass
class Viewer:
    """Who is behind a request: one person in one cycle (or the admin)."""

    role: str  # wilayah / asesor / admin
    cycle: Cycle
    token: str  # the raw token from the URL ("" for the admin on basic auth)
    ip: str
    region: Region | None = None
    assessor: Assessor | None = None
    admin_user: str = ""

    @property
    def name(self) -> str:
        if self.region is not None:
            return self.region.pic_name
        if self.assessor is not None:
            return self.assessor.name
        return self.admin_user or "Admin"

    @property
    def who(self) -> str:
        if self.region is not None:
            return f"{self.region.pic_name} <{self.region.pic_email}>"
        if self.assessor is not None:
            return f"{self.assessor.name} <{self.assessor.email}>"
        return f"admin {self.admin_user}".strip()

    @property
    def audit(self) -> dict[str, str]:
        return {"ip": self.ip, "peran": self.role}

    @property
    def base(self) -> str:
        return f"/t/{self.token}"

    @property
    def csrf(self) -> str:
        return security.csrf_value(token_hash(self.token) if self.token else self.admin_user)


class Limits:
    def __init__(self) -> None:
        p = get_settings().portal
        self.tokens = security.RateLimiter(p.token_requests_per_minute)
        self.addresses = security.RateLimiter(p.token_requests_per_minute * 5)
        self.uploads = security.RateLimiter(p.uploads_per_minute)


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("org", get_settings().organisation)
    context.setdefault("zone", clock.zone_label())
    return HTMLResponse(env.get_template(name).render(**context), status_code=status)


def message_page(title: str, lines: list[str], status: int) -> HTMLResponse:
    return render("pesan.html", status=status, title=title, lines=lines)


def contact_lines() -> list[str]:
    s = get_settings()
    return [
        f"Hubungi admin PeManTIK di {s.admin_email} ({s.organisation.bidang}, "
        f"{s.organisation.instansi}) untuk meminta tautan baru."
    ]


def refusal(check: TokenCheck) -> HTMLResponse:
    """The page a revoked, expired or unknown link gets: what happened and whom to ask."""
    if check.status == "revoked":
        return message_page(
            "Tautan Ini Sudah Dicabut",
            [
                "Tautan pribadi ini telah dicabut oleh admin PeManTIK dan tidak dapat dipakai lagi. "
                "Bila Anda menerima tautan pengganti melalui surel, gunakan tautan tersebut.",
                *contact_lines(),
            ],
            403,
        )
    if check.status == "expired":
        name = check.cycle.name if check.cycle else "siklus ini"
        return message_page(
            "Tautan Ini Sudah Berakhir",
            [
                f"Tautan pribadi ini berlaku selama {name} berjalan. Siklus tersebut telah ditutup, "
                "sehingga tautan tidak dapat dipakai lagi.",
                *contact_lines(),
            ],
            403,
        )
    return message_page(
        "Tautan Tidak Dikenal",
        [
            "Tautan ini tidak dikenal. Periksa apakah tautan tersalin utuh dari surel.",
            *contact_lines(),
        ],
        404,
    )


def too_many() -> HTMLResponse:
    return message_page(
        "Terlalu Banyak Permintaan",
        [
            "Permintaan dari tautan atau alamat ini terlalu banyak dalam satu menit. "
            "Tunggu sebentar, lalu muat ulang halaman."
        ],
        429,
    )


def attachment(path: Path, filename: str, content_type: str | None = None) -> Response:
    """A stored file as a download, never rendered by the browser."""
    if not path.is_file():
        return message_page("Berkas Tidak Ditemukan", ["Berkas ini tidak ada di penyimpanan."], 404)
    kind = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    if kind.startswith("text/") or "html" in kind or "xml" in kind or "svg" in kind:
        kind = "application/octet-stream"
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    return FileResponse(
        path,
        media_type=kind,
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(filename)}",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


async def form_of(request: Request) -> dict[str, Any]:
    """The posted fields as text; uploaded files under ``_files`` as (field, file) pairs."""
    form = await request.form()
    fields: dict[str, Any] = {"_files": []}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            fields["_files"].append((key, value))
        else:
            fields[key] = str(value)
    return fields


def create_app() -> FastAPI:
    app = FastAPI(title="Portal PeManTIK", docs_url=None, redoc_url=None, openapi_url=None)
    limits = Limits()
    app.state.limits = limits

    @app.middleware("http")
    async def headers(request: Request, call_next):  # noqa: ANN001, ANN202
        response = await call_next(request)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; "
            "frame-ancestors 'none'",
        )
        return response

    def viewer_of(request: Request, token: str) -> Viewer | Response:
        ip = security.client_ip(request)
        if not limits.addresses.allow(ip) or not limits.tokens.allow(token_hash(token)):
            return too_many()
        with session_scope() as session:
            check = check_token(session, token)
            if not check.valid:
                return refusal(check)
            row = check.row
            row.last_used_at = clock.now()
            session.add(row)
            viewer = Viewer(row.role, check.cycle, token, ip)
            if row.role == "wilayah":
                viewer.region = session.get(Region, row.region_code)
            elif row.role == "asesor":
                viewer.assessor = session.get(Assessor, row.assessor_id)
            session.expunge_all()
            return viewer

    def admin_of(request: Request) -> str | None:
        user = security.admin_user(request)
        if user:
            return user
        cookie = request.cookies.get(security.ADMIN_COOKIE, "")
        if cookie:
            with session_scope() as session:
                check = check_token(session, cookie)
                if check.valid and check.row.role == "admin":
                    return "admin"
        return None

    def needs_admin() -> Response:
        return Response(
            "Halaman ini memerlukan kredensial admin PeManTIK.",
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="PeManTIK", charset="UTF-8"'},
            media_type="text/plain; charset=utf-8",
        )

    async def posted(request: Request, viewer: Viewer) -> dict[str, Any] | Response:
        form = await form_of(request)
        if not security.csrf_ok(token_hash(viewer.token), form.get("csrf")):
            return message_page(
                "Formulir Kedaluwarsa",
                [
                    "Formulir ini tidak dapat diterima karena tidak dikirim dari halaman portal. "
                    "Buka kembali halaman dari tautan pribadi Anda, lalu isi ulang."
                ],
                403,
            )
        return form

    async def guarded(
        request: Request, token: str, upload: bool = False
    ) -> tuple[Viewer, dict[str, Any]] | Response:
        """The viewer and the posted form of a personal page's POST, or the refusal page."""
        viewer = viewer_of(request, token)
        if isinstance(viewer, Response):
            return viewer
        if upload and not limits.uploads.allow(token_hash(token)):
            return too_many()
        form = await posted(request, viewer)
        return form if isinstance(form, Response) else (viewer, form)

    # --- the personal pages ---------------------------------------------------------------

    def personal_post(path: str, action: str, upload: bool = False) -> None:
        """A personal page's POST: the token and the form's CSRF value checked, then
        ``portal.pages.<action>(viewer, form, **the path's other parameters)``."""

        async def handler(request: Request, token: str) -> Response:
            got = await guarded(request, token, upload=upload)
            if isinstance(got, Response):
                return got
            viewer, form = got
            from portal import pages

            params = {k: v for k, v in request.path_params.items() if k != "token"}
            answer = getattr(pages, action)(viewer, form, **params)
            return await answer if inspect.isawaitable(answer) else answer

        app.add_api_route(
            f"/t/{{token}}{path}", handler, methods=["POST"], response_class=HTMLResponse
        )

    personal_post("/kuesioner", "questionnaire_submit")
    personal_post("/kuesioner/berkas", "workbook_submit", upload=True)
    personal_post("/bukti", "evidence_upload", upload=True)
    personal_post("/bukti/hapus", "evidence_remove")
    personal_post("/terima", "acknowledge")
    personal_post("/konfirmasi", "confirm")
    personal_post("/nilai/{region_code}", "scoring_submit")

    @app.get("/", response_class=HTMLResponse)
    def root() -> HTMLResponse:
        return message_page(
            "Portal PeManTIK",
            [
                "Portal ini dibuka melalui tautan pribadi yang dikirim lewat surel PeManTIK.",
                *contact_lines(),
            ],
            200,
        )

    @app.get("/t/{token}", response_class=HTMLResponse)
    def home(request: Request, token: str, pesan: str = "") -> Response:
        viewer = viewer_of(request, token)
        if isinstance(viewer, Response):
            return viewer
        from portal import pages

        if viewer.role == "wilayah":
            return render("wilayah.html", v=viewer, notice=pesan, **pages.region_home(viewer))
        if viewer.role == "asesor":
            return render("asesor.html", v=viewer, notice=pesan, **pages.assessor_home(viewer))
        response = RedirectResponse(f"/papan/{viewer.cycle.id}", status_code=303)
        response.set_cookie(
            security.ADMIN_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @app.get("/t/{token}/kuesioner", response_class=HTMLResponse)
    def questionnaire(request: Request, token: str, pesan: str = "") -> Response:
        viewer = viewer_of(request, token)
        if isinstance(viewer, Response):
            return viewer
        if viewer.role != "wilayah":
            return message_page(
                "Halaman Tidak Tersedia", ["Halaman ini untuk petugas Kab/Kota."], 403
            )
        from portal import pages

        return render(
            "kuesioner.html", v=viewer, notice=pesan, errors=[], **pages.questionnaire_form(viewer)
        )

    @app.get("/t/{token}/bukti/{evidence_id}")
    def evidence_get(request: Request, token: str, evidence_id: int) -> Response:
        viewer = viewer_of(request, token)
        if isinstance(viewer, Response):
            return viewer
        from portal import pages

        with session_scope() as session:
            row = session.get(EvidenceFile, evidence_id)
            if (
                row is None
                or not pages.may_see_region(session, viewer, row.region_code)
                or (row.cycle_id != viewer.cycle.id)
            ):
                return message_page("Berkas Tidak Ditemukan", ["Berkas ini tidak tersedia."], 404)
            return attachment(Path(row.storage_path), row.file_name, row.content_type)

    @app.get("/t/{token}/surat/{letter_id}")
    def letter_get(request: Request, token: str, letter_id: int) -> Response:
        viewer = viewer_of(request, token)
        if isinstance(viewer, Response):
            return viewer
        with session_scope() as session:
            letter = session.get(Letter, letter_id)
            own = (
                letter is not None
                and letter.cycle_id == viewer.cycle.id
                and (
                    (
                        viewer.region is not None
                        and letter.region_code == viewer.region.code
                        and letter.assessor_id is None
                    )
                    or (viewer.assessor is not None and letter.assessor_id == viewer.assessor.id)
                )
            )
            if not own:
                return message_page("Surat Tidak Ditemukan", ["Surat ini tidak tersedia."], 404)
            return letter_file(letter)

    @app.get("/t/{token}/nilai/{region}", response_class=HTMLResponse)
    def scoring_get(request: Request, token: str, region: str, pesan: str = "") -> Response:
        viewer = viewer_of(request, token)
        if isinstance(viewer, Response):
            return viewer
        from portal import pages

        return pages.scoring_page(viewer, region, notice=pesan)

    # --- the admin's views ------------------------------------------------------------------

    def letter_file(letter: Letter) -> Response:
        path = Path(letter.pdf_path or letter.file_path)
        return attachment(path, path.name)

    @app.get("/admin", response_class=HTMLResponse)
    def admin_home(request: Request) -> Response:
        user = admin_of(request)
        if not user:
            return needs_admin()
        with session_scope() as session:
            cycles = session.exec(select(Cycle).order_by(Cycle.id.desc())).all()
            session.expunge_all()
        return render("admin.html", cycles=cycles, states=CYCLE_STATES)

    @app.get("/papan/{cycle_id}", response_class=HTMLResponse)
    def board(request: Request, cycle_id: int) -> Response:
        user = admin_of(request)
        if not user:
            return needs_admin()
        from portal import pages

        return pages.board_page(cycle_id)

    @app.get("/berkas/surat/{letter_id}")
    def admin_letter(request: Request, letter_id: int) -> Response:
        if not admin_of(request):
            return needs_admin()
        with session_scope() as session:
            letter = session.get(Letter, letter_id)
            if letter is None:
                return message_page("Surat Tidak Ditemukan", ["Surat ini tidak tersedia."], 404)
            return letter_file(letter)

    @app.get("/berkas/dokumen/{document_id}")
    def admin_document(request: Request, document_id: int) -> Response:
        if not admin_of(request):
            return needs_admin()
        with session_scope() as session:
            doc = session.get(Document, document_id)
            if doc is None:
                return message_page("Dokumen Tidak Ditemukan", ["Dokumen ini tidak tersedia."], 404)
            path = Path(doc.file_path)
            return attachment(path, path.name)

    @app.get("/admin/tautan/{cycle_id}", response_class=HTMLResponse)
    def tokens_page(request: Request, cycle_id: int, pesan: str = "") -> Response:
        user = admin_of(request)
        if not user:
            return needs_admin()
        from portal import pages

        return pages.tokens_page(cycle_id, user, pesan)

    @app.post("/admin/tautan/{cycle_id}", response_class=HTMLResponse)
    async def tokens_post(request: Request, cycle_id: int) -> Response:
        user = admin_of(request)
        if not user:
            return needs_admin()
        form = await form_of(request)
        if not security.csrf_ok(user, form.get("csrf")):
            return message_page("Formulir Kedaluwarsa", ["Buka kembali halaman, lalu ulangi."], 403)
        from portal import pages

        return pages.tokens_action(cycle_id, user, form, security.client_ip(request))

    return app


def open_waits_of(session: Session, cycle_id: int, region_code: str) -> list[Wait]:
    return list(
        session.exec(
            select(Wait)
            .where(
                Wait.cycle_id == cycle_id,
                Wait.region_code == region_code,
                Wait.state == WaitState.OPEN,
            )
            .order_by(Wait.id)
        )
    )


def accepted_regions(session: Session, cycle_id: int, assessor_id: int) -> list[Assignment]:
    return list(
        session.exec(
            select(Assignment).where(
                Assignment.cycle_id == cycle_id,
                Assignment.assessor_id == assessor_id,
                Assignment.state.in_([AssignmentState.REQUESTED, AssignmentState.ACCEPTED]),
            )
        )
    )


def spooled(upload: UploadFile, limit: int) -> tuple[bytes, bool]:
    """The upload's bytes up to ``limit`` + 1 (True when it was larger than ``limit``)."""
    data = upload.file.read(limit + 1)
    return data[: limit + 1], len(data) > limit


def temp_dir() -> Path:
    folder = get_settings().docs_dir / "portal-unggahan"
    folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=folder))
