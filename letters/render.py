"""Render a document: validate its input, fill its jinja2 wording, build the .docx.

``prepare`` does everything that can fail on bad input or a bad template (validation, the jinja2
rendering with StrictUndefined, the markup) *before* a letter number is taken; ``Prepared.build``
then only substitutes the number and packs the file, which cannot fail on input.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import traceback
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from pydantic import BaseModel, ValidationError

from letters import formats
from letters.docx_writer import PIPE, CoreInfo, Master, build_master
from letters.errors import LetterError, LetterInputError, TemplateProblem, describe_input_error
from letters.inputs import INPUT_MODELS, KIND_TITLES, TEMPLATE_OF, SignatoryInput
from models import clock
from models.settings import Organisation, Settings, get_settings

SHIPPED_TEMPLATES = Path(__file__).parent / "templates"
# Stands in for the number while the text is rendered; replaced once the number is taken.
NUMBER_SLOT = "\u27e6NOMOR\u27e7"
_VERSION_RE = re.compile(r"\{#\s*version:\s*([^\s#]+)\s*#\}")


@dataclass(frozen=True)
class RenderResult:
    path: Path
    sha256: str
    template_version: str


# ---------------------------------------------------------------- filters (Indonesian formats)


def _tingkat(level: int | None) -> str:
    return "-" if level is None else str(level)


def _score_for(indicator: Any, assessor: str) -> Any:
    for score in indicator.scores:
        if score.assessor == assessor:
            return score
    return None


FILTERS = {
    "judul": formats.title_case,
    "tanggal": formats.long_date,
    "tanggal_hari": partial(formats.long_date, with_day=True),
    "tanggal_angka": formats.numeric_date,
    "hari": formats.day_name,
    "bulan": formats.month_name,
    "terbilang": formats.number_in_words,
    "tanggal_terbilang": formats.date_in_words,
    "angka": formats.decimal_comma,
    "romawi": formats.roman,
    "diktum": formats.dictum,
    "tingkat": _tingkat,
    "waktu": formats.date_time,
    "abjad": formats.alphabetic,
}


# ---------------------------------------------------------------- the template environment


class _SnapshotLoader(jinja2.BaseLoader):
    """Templates kept in a letter's snapshot (regeneration uses the wording it was made with)."""

    def __init__(self, sources: dict[str, str]) -> None:
        self.sources = sources

    def get_source(self, environment: jinja2.Environment, template: str):  # noqa: ANN201
        if template not in self.sources:
            raise jinja2.TemplateNotFound(template)
        return self.sources[template], None, lambda: True


def _finalize(value: Any) -> Any:
    """Keep a filled-in value on its line and inside its cell: a newline becomes a space and a
    '|' is protected until the markup has split the line (see docx_writer.PIPE)."""
    if isinstance(value, str):
        return value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("|", PIPE)
    return value


def _environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        # Without trim_blocks a line holding only a tag leaves an empty line, which the markup
        # ignores; with it, a tag at a line's end would glue that line to the next one.
        trim_blocks=False,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
        finalize=_finalize,
    )
    env.filters.update(FILTERS)
    env.globals["score_for"] = _score_for
    env.globals["zona"] = clock.zone_label  # 'WITA' (the configured zone), for clock times
    return env


_env_lock = threading.Lock()
_envs: dict[str, jinja2.Environment] = {}


def template_environment(templates_dir: Path | None) -> jinja2.Environment:
    """Shipped templates, overridden file by file by ``settings.templates_dir``."""
    if templates_dir is not None and not Path(templates_dir).is_dir():
        raise TemplateProblem(
            f"folder templat tidak ada: {templates_dir} (pengaturan PEMANTIK_TEMPLATES_DIR)"
        )
    key = str(templates_dir or "")
    with _env_lock:
        env = _envs.get(key)
        if env is None:
            dirs = [str(templates_dir)] if templates_dir else []
            env = _environment(jinja2.FileSystemLoader([*dirs, str(SHIPPED_TEMPLATES)]))
            _envs[key] = env
    return env


_sources_lock = threading.Lock()
_sources_cache: dict[tuple[int, str], tuple[dict[str, str], list, tuple]] = {}


def _origins(env: jinja2.Environment, names: list[str]) -> tuple:
    """Which file each template comes from (an override added later changes this)."""
    loader = env.loader
    if not isinstance(loader, jinja2.FileSystemLoader):
        return ()
    found = []
    for name in names:
        for folder in loader.searchpath:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                found.append(candidate)
                break
        else:
            found.append(None)
    return tuple(found)


def template_sources(env: jinja2.Environment, name: str) -> dict[str, str]:
    """The source of a template and of every template it extends, includes or imports.

    Cached per environment; an entry is dropped as soon as one of its files changes on disk or
    an override file appears or disappears (then jinja2's compiled templates are dropped too).
    """
    key = (id(env), name)
    with _sources_lock:
        cached = _sources_cache.get(key)
    if cached is not None:
        sources, checks, origins = cached
        if all(check() for check in checks) and _origins(env, sorted(sources)) == origins:
            return dict(sources)
        if env.cache is not None:
            env.cache.clear()
    sources = {}
    checks: list = []
    pending = [name]
    while pending:
        current = pending.pop()
        if current in sources:
            continue
        source, _, uptodate = env.loader.get_source(env, current)
        sources[current] = source
        if uptodate is not None:
            checks.append(uptodate)
        for ref in meta.find_referenced_templates(env.parse(source)):
            if ref:
                pending.append(ref)
    with _sources_lock:
        _sources_cache[key] = (dict(sources), checks, _origins(env, sorted(sources)))
    return sources


def template_version(sources: dict[str, str], name: str) -> str:
    """'<declared version>+<hash of all sources>', e.g. '2026.1+3f2a9c1b7d'."""
    declared = _VERSION_RE.search(sources[name])
    digest = hashlib.sha256()
    for key in sorted(sources):
        digest.update(key.encode() + b"\x00" + sources[key].encode() + b"\x00")
    head = declared.group(1) if declared else "tanpa-versi"
    return f"{head}+{digest.hexdigest()[:10]}"


def _template_error(exc: Exception, name: str, kind: str) -> TemplateProblem:
    title = KIND_TITLES.get(kind, kind)
    where = name
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and frame.filename.endswith(".j2"):
            where = f"{Path(frame.filename).name} baris {frame.lineno}"
            break
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = f"{exc.name or name} baris {exc.lineno}"
        return TemplateProblem(
            f"{title} ({kind}): templat {where} tidak sah: {exc.message}", kind=kind
        )
    if isinstance(exc, jinja2.UndefinedError):
        found = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", str(exc))
        field_name = (found.group(1) or found.group(2)) if found else str(exc)
        return TemplateProblem(
            f"{title} ({kind}): templat {where} merujuk kolom yang tidak dikenal '{field_name}' ({exc})",
            kind=kind,
            field=field_name,
        )
    return TemplateProblem(f"{title} ({kind}): templat {where} gagal dirender: {exc}", kind=kind)


def _render_block(template: jinja2.Template, block: str, context: dict[str, Any]) -> str:
    if block not in template.blocks:
        return ""
    ctx = template.new_context(context)
    return "".join(template.blocks[block](ctx)).strip()


# ---------------------------------------------------------------- masters (kop) cache

_master_lock = threading.Lock()
_masters: dict[str, Master] = {}


def master_for(
    org: Organisation,
    env: jinja2.Environment,
    kop_source: str | None = None,
    example: bool = False,
) -> Master:
    """The parsed master for this organisation and kop wording (built once, then reused);
    ``example``: the demo's CONTOH mark on every page."""
    from letters.readiness import EXAMPLE_MARK

    source = kop_source if kop_source is not None else env.loader.get_source(env, "_kop.j2")[0]
    logo_bytes = Path(org.logo).read_bytes() if org.logo else b""
    mark = EXAMPLE_MARK if example else ()
    key = hashlib.sha256(
        org.model_dump_json().encode()
        + source.encode()
        + hashlib.sha256(logo_bytes).digest()
        + "\n".join(mark).encode()
    ).hexdigest()
    with _master_lock:
        master = _masters.get(key)
        if master is None:
            try:
                markup = env.from_string(source).render(org=org)
            except jinja2.TemplateError as exc:
                raise _template_error(exc, "_kop.j2", "kop") from None
            master = build_master(markup, Path(org.logo) if org.logo else None, mark=mark)
            _masters[key] = master
    return master


# ---------------------------------------------------------------- prepare / build


@dataclass
class Prepared:
    """A document whose wording is rendered and checked; only the number is still open."""

    kind: str
    model: BaseModel
    subject: str
    addressee: str
    letter_date: date
    template_version: str
    sources: dict[str, str]
    organisation: Organisation
    master: Master
    body_xml: str
    reply_to: str = ""
    media: list = field(default_factory=list)
    example: bool = False  # made by the demo: marked CONTOH

    def snapshot(self) -> dict[str, Any]:
        """The validated input as JSON plus what is needed to rebuild the same file."""
        data = self.model.model_dump(mode="json")
        data["_render"] = {
            "kind": self.kind,
            "letter_date": self.letter_date.isoformat(),
            "template_version": self.template_version,
            "templates": self.sources,
            "organisation": self.organisation.model_dump(mode="json"),
            "reply_to": self.reply_to,
            "contoh": self.example,
        }
        return data

    def build(self, number: str | None) -> bytes:
        body = self.body_xml
        if number is not None:
            from xml.sax.saxutils import escape

            body = body.replace(NUMBER_SLOT, escape(number))
        core = CoreInfo(
            title=self.subject or KIND_TITLES.get(self.kind, self.kind),
            subject=KIND_TITLES.get(self.kind, self.kind),
            creator=f"{self.organisation.instansi} {self.organisation.pemerintah}".strip(),
            identifier=number or "",
            created=self.letter_date,
        )
        return self.master.package(body, self.media, core)


def validate_input(kind: str, data: BaseModel | dict[str, Any]) -> BaseModel:
    """The kind's input model, validated; a clear Indonesian error naming each wrong field."""
    if kind not in INPUT_MODELS:
        raise LetterError(
            f"jenis dokumen tidak dikenal '{kind}'; pilihan: {', '.join(INPUT_MODELS)}", kind=kind
        )
    model_cls = INPUT_MODELS[kind]
    title = KIND_TITLES[kind]
    try:
        if isinstance(data, BaseModel):
            if isinstance(data, model_cls):
                # Re-validate: the caller may have built it with model_construct or mutated it.
                return model_cls.model_validate(data.model_dump())
            data = data.model_dump()
        return model_cls.model_validate(data)
    except ValidationError as exc:
        raise describe_input_error(exc, title, kind) from None


def _resolve_signatory(model: BaseModel, settings: Settings, kind: str) -> SignatoryInput:
    given = getattr(model, "signatory", None)
    if given is not None:
        return given
    s = settings.signatory
    try:
        return SignatoryInput(name=s.name, nip=s.nip, pangkat=s.pangkat, jabatan=s.jabatan)
    except ValidationError as exc:
        err = describe_input_error(exc, KIND_TITLES[kind], kind)
        # Name the setting an admin has to fix (PEMANTIK_SIGNATORY__NIP …).
        message = str(err).replace("kolom '", "pengaturan penandatangan 'PEMANTIK_SIGNATORY__")
        raise LetterInputError(message, kind=kind, field=f"signatory.{err.field}") from None


def _laporan_extras(
    model: Any, template: jinja2.Template, context: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, bytes]]:
    from letters import charts
    from letters.laporan import weakest_dimensions

    results = sorted(model.results, key=lambda r: (r.rank or 10**6, -r.total, r.region_name))
    dims = list(model.dimensions) or sorted({d for r in results for d in r.dimensions})
    findings = []
    for r in results:
        weakest = weakest_dimensions(r, dims)
        if weakest:
            findings.append({"result": r, "weakest": weakest, "score": r.dimensions[weakest[0]]})
    scale = charts.ChartScale(
        min=model.scale_min,
        max=model.scale_max,
        bands=tuple(charts.Band(p.name, p.min) for p in model.predicates),
    )
    names = [r.region_name for r in results]
    axis = _render_block(template, "sumbu_nilai", context)
    totals = charts.totals_charts(
        names,
        [r.total for r in results],
        scale=scale,
        title=_render_block(template, "judul_grafik_total", context),
        xlabel=axis,
    )
    profiles = charts.profile_charts(
        names,
        dims,
        [[r.dimensions.get(d, 0.0) for d in dims] for r in results],
        scale=scale,
        title=_render_block(template, "judul_grafik_profil", context),
        xlabel=axis,
    )
    images = {f"total{n}": png for n, png in enumerate(totals, 1)}
    images.update({f"profil{n}": png for n, png in enumerate(profiles, 1)})
    total_names = [f"total{n}" for n in range(1, len(totals) + 1)]
    profile_names = [f"profil{n}" for n in range(1, len(profiles) + 1)]
    return {
        "ranked": results,
        "dims": dims,
        "findings": findings,
        "profile_images": profile_names,
        "total_images": total_names,
    }, images


def prepare(
    kind: str,
    data: BaseModel | dict[str, Any],
    *,
    letter_date: date | None = None,
    settings: Settings | None = None,
    sources: dict[str, str] | None = None,
    organisation: Organisation | None = None,
    reply_to: str | None = None,
    example: bool | None = None,
) -> Prepared:
    """Validate, render the wording and the body; raises LetterError before anything is written.

    ``sources``/``organisation`` come from a snapshot when regenerating; otherwise the
    templates folder and ``settings.organisation`` are used. ``example`` (default: the demo
    setting) marks every page CONTOH.
    """
    settings = settings or get_settings()
    example = settings.demo if example is None else example
    model = validate_input(kind, data)
    title = KIND_TITLES[kind]
    org = organisation or settings.organisation
    from_snapshot = sources is not None
    if sources is None:
        env = template_environment(settings.templates_dir)
        try:
            sources = template_sources(env, TEMPLATE_OF[kind])
            sources.update(template_sources(env, "_kop.j2"))
        except jinja2.TemplateNotFound as exc:
            raise TemplateProblem(
                f"{title} ({kind}): templat '{exc.name}' tidak ditemukan", kind=kind
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise _template_error(exc, TEMPLATE_OF[kind], kind) from None
    # A snapshot environment is cheap; the shared one is reused for speed.
    env = (
        _environment(_SnapshotLoader(sources))
        if from_snapshot
        else template_environment(settings.templates_dir)
    )
    version = template_version(
        {k: v for k, v in sources.items() if k != "_kop.j2"}, TEMPLATE_OF[kind]
    )
    letter_date = letter_date or clock.today()
    signatory = _resolve_signatory(model, settings, kind)
    # Freeze the defaults taken from settings into the input, so the snapshot rebuilds the same
    # letter even after the settings change.
    fields = type(model).model_fields
    updates: dict[str, Any] = {}
    if "signatory" in fields and model.signatory is None:
        updates["signatory"] = signatory
    if "sifat" in fields and not model.sifat:
        updates["sifat"] = settings.letters.sifat
    if "klasifikasi" in fields and not model.klasifikasi:
        from letters.register import register_of  # the kind's code, from the registers file

        updates["klasifikasi"] = register_of(kind).klasifikasi
    if updates:
        model = model.model_copy(update=updates)
    reply_to = reply_to or str(settings.reply_to)
    context: dict[str, Any] = {
        "data": model,
        "org": org,
        "signatory": signatory,
        "number": NUMBER_SLOT,
        "letter_date": letter_date,
        "sifat": getattr(model, "sifat", "") or settings.letters.sifat,
        "reply_to": reply_to,
        "kind": kind,
    }
    try:
        template = env.get_template(TEMPLATE_OF[kind])
        subject = getattr(model, "subject", "") or _render_block(template, "hal", context)
        subject = subject.replace(PIPE, "|")
        context["subject"] = subject
        images: dict[str, bytes] = {}
        if kind == "laporan":
            extras, images = _laporan_extras(model, template, context)
            context.update(extras)
        markup = template.render(context)
        master = master_for(org, env, sources.get("_kop.j2"), example=example)
    except jinja2.TemplateError as exc:
        raise _template_error(exc, TEMPLATE_OF[kind], kind) from None
    writer = master.writer(TEMPLATE_OF[kind], images)
    try:
        writer.feed(markup)
    except TemplateProblem as exc:
        raise TemplateProblem(f"{title} ({kind}): {exc}", kind=kind) from None
    addressee = getattr(getattr(model, "addressee", None), "name", "") or ""
    return Prepared(
        kind=kind,
        model=model,
        subject=subject,
        addressee=addressee,
        letter_date=letter_date,
        template_version=version,
        sources=sources,
        organisation=org,
        master=master,
        body_xml=writer.xml(),
        reply_to=reply_to,
        media=writer.media,
        example=example,
    )


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render_document(
    kind: str,
    data: BaseModel | dict[str, Any],
    out_path: Path,
    number: str | None = None,
    *,
    letter_date: date | None = None,
) -> RenderResult:
    """Render one document to ``out_path`` (unnumbered documents, previews, the benchmark)."""
    prepared = prepare(kind, data, letter_date=letter_date)
    payload = prepared.build(number if number is not None else "")
    out_path = Path(out_path)
    write_atomic(out_path, payload)
    return RenderResult(out_path, sha256_bytes(payload), prepared.template_version)
