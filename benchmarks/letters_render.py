"""Render the documents of a national-scale cycle and compare with docxtpl in the same run.

    .venv/bin/python benchmarks/letters_render.py                 # 514 regions x 6 documents
    .venv/bin/python benchmarks/letters_render.py --count 100     # a quicker run

Ours: ``letters.render.render_document`` (validated input, jinja2 wording, the parsed master
reused, file written to disk) for 6 documents per region: Surat Pemberitahuan, Tanda Terima,
Surat Undangan, Surat Permohonan, Formulir Penilaian Asesmen (47 indicators, 2 assessors) and
Berita Acara. Baseline: the same Surat Pemberitahuan (kop, Nomor/Sifat/Lampiran/Hal, Yth., body,
signature, Tembusan) as a docxtpl template, rendered the usual way (one DocxTemplate per letter).
Both run on one core in this process; letters/s = documents written per second of wall time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KINDS = ["pemberitahuan", "tanda_terima", "undangan", "permohonan", "formulir", "berita_acara"]


def _docxtpl_template(path: Path) -> None:
    """The Surat Pemberitahuan as a docxtpl template (same content as ours)."""
    from docx import Document
    from docx.shared import Cm, Pt

    doc = Document()
    s = doc.sections[0]
    s.page_width, s.page_height = Cm(21), Cm(29.7)
    s.left_margin, s.right_margin, s.top_margin, s.bottom_margin = Cm(3), Cm(2), Cm(2), Cm(2)
    doc.styles["Normal"].font.name = "Arial"
    doc.styles["Normal"].font.size = Pt(11)
    for line in (
        "{{ org.pemerintah }}",
        "{{ org.instansi }}",
        "{{ org.address }}",
        "Telepon {{ org.phone }}, Pos-el {{ org.email }}, Laman {{ org.website }}",
    ):
        doc.add_paragraph(line).alignment = 1
    doc.add_paragraph("{{ org.city }}, {{ tanggal }}")
    for label, value in (
        ("Nomor", "{{ nomor }}"),
        ("Sifat", "{{ sifat }}"),
        ("Lampiran", "{{ d.lampiran }}"),
        ("Hal", "{{ hal }}"),
    ):
        doc.add_paragraph(f"{label}\t:\t{value}")
    doc.add_paragraph("Yth. {{ d.addressee.name }}")
    doc.add_paragraph("di {{ d.addressee.place }}")
    doc.add_paragraph(
        "Dalam rangka pelaksanaan Penguatan Manajemen Tata Kelola Teknologi Informasi dan Komunikasi "
        "(PeManTIK) Kabupaten/Kota se-{{ org.province }} Tahun {{ d.year }}, bersama ini kami sampaikan "
        "bahwa {{ d.region_name }} diminta untuk mengisi Lembar Kuesioner PeManTIK berdasarkan instrumen "
        "{{ d.instrument_name }} sebagaimana terlampir."
    )
    doc.add_paragraph(
        "Lembar Kuesioner diisi dengan memilih satu tingkat untuk setiap indikator beserta tautan bukti "
        "dukungnya, kemudian disampaikan kembali paling lambat {{ batas }} melalui surat elektronik ke "
        "alamat {{ reply_to }} dengan menggunakan berkas {{ d.questionnaire_file }}."
    )
    doc.add_paragraph("Informasi lebih lanjut dapat diperoleh melalui {{ d.contact }}.")
    doc.add_paragraph(
        "Demikian disampaikan, atas perhatian dan kerja samanya diucapkan terima kasih."
    )
    for line in (
        "{{ ttd.jabatan }},",
        "",
        "",
        "{{ ttd.name }}",
        "{{ ttd.pangkat }}",
        "NIP. {{ ttd.nip }}",
    ):
        doc.add_paragraph(line)
    doc.add_paragraph("Tembusan:")
    doc.add_paragraph("{%p for c in d.cc %}")
    doc.add_paragraph("{{ loop.index }}.\t{{ c }}")
    doc.add_paragraph("{%p endfor %}")
    doc.save(str(path))


def run_docxtpl(count: int, out: Path, inputs: list[dict]) -> float:
    from docxtpl import DocxTemplate

    from letters.formats import long_date
    from letters.inputs import PemberitahuanInput
    from models.settings import get_settings

    settings = get_settings()
    template = out / "pemberitahuan-docxtpl.docx"
    _docxtpl_template(template)
    started = time.perf_counter()
    for i in range(count):
        data = PemberitahuanInput.model_validate(inputs[i % len(inputs)])  # same validation as ours
        tpl = DocxTemplate(str(template))
        tpl.render(
            {
                "org": settings.organisation,
                "d": data,
                "ttd": settings.signatory,
                "nomor": f"005/{i + 1}/Diskominfo/2026",
                "sifat": settings.letters.sifat,
                "hal": f"Pemberitahuan Pengisian Kuesioner PeManTIK Tahun {data.year}",
                "tanggal": long_date(date(2026, 7, 1)),
                "batas": long_date(data.deadline, with_day=True),
                "reply_to": settings.reply_to,
            }
        )
        tpl.save(str(out / f"docxtpl-{i}.docx"))
    return time.perf_counter() - started


def run_ours(
    regions: int, out: Path, only: list[str] | None = None
) -> tuple[float, int, dict[str, float]]:
    from letters.examples import example_inputs
    from letters.render import render_document

    day = date(2026, 7, 1)
    inputs = [example_inputs(i % 10) for i in range(min(regions, 10))]
    for kind in KINDS:  # warm-up: compile templates, build the master once
        render_document(
            kind,
            inputs[0][kind],
            out / f"warm-{kind}.docx",
            "005/0/Diskominfo/2026",
            letter_date=day,
        )
    per_kind = dict.fromkeys(KINDS, 0.0)
    n = 0
    started = time.perf_counter()
    for r in range(regions):
        data = inputs[r % len(inputs)]
        for kind in only or KINDS:
            t0 = time.perf_counter()
            number = None if kind == "formulir" else f"005/{n + 1}/Diskominfo/2026"
            render_document(kind, data[kind], out / f"{kind}-{r}.docx", number, letter_date=day)
            per_kind[kind] += time.perf_counter() - t0
            n += 1
    return time.perf_counter() - started, n, per_kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--count", type=int, default=514, help="regions (6 documents each); default 514"
    )
    parser.add_argument(
        "--docxtpl-count", type=int, default=None, help="docxtpl letters (default: --count)"
    )
    args = parser.parse_args()
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    except (AttributeError, OSError):
        pass
    os.environ.setdefault("PEMANTIK_DATA_DIR", tempfile.mkdtemp(prefix="pemantik-bench-"))
    from letters.examples import example_inputs

    with tempfile.TemporaryDirectory(prefix="letters-bench-") as tmp:
        out = Path(tmp)
        elapsed, n, per_kind = run_ours(args.count, out)
        same_kind, n_same, _ = run_ours(
            args.docxtpl_count or args.count, out, only=["pemberitahuan"]
        )
        tpl_count = args.docxtpl_count or args.count
        inputs = [example_inputs(i)["pemberitahuan"] for i in range(10)]
        tpl_elapsed = run_docxtpl(tpl_count, out, inputs)

    ours_rate = n / elapsed
    ours_same = n_same / same_kind
    tpl_rate = tpl_count / tpl_elapsed
    print(
        f"pemantik letters: {n} documents ({args.count} regions x {len(KINDS)}) in {elapsed:.2f} s = {ours_rate:.0f} letters/s"
    )
    for kind, seconds in per_kind.items():
        print(f"  {kind:<14} {seconds / args.count * 1000:6.2f} ms/document")
    print(
        f"pemantik letters, Surat Pemberitahuan only: {n_same} in {same_kind:.2f} s = {ours_same:.0f} letters/s"
    )
    print(
        f"docxtpl, the same Surat Pemberitahuan: {tpl_count} in {tpl_elapsed:.2f} s = {tpl_rate:.0f} letters/s"
    )
    print(f"ratio (ours / docxtpl), same letter: {ours_same / tpl_rate:.1f}x")
    print(f"ratio (ours, all 6 kinds mixed / docxtpl): {ours_rate / tpl_rate:.1f}x")
    goal = ours_rate >= 100 and ours_same >= tpl_rate
    print("goal (>= 100 letters/s and no slower than docxtpl):", "met" if goal else "NOT met")


if __name__ == "__main__":
    main()
