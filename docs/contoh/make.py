"""Render one page image of each document kind from a demo run, for the README's gallery.

    pemantik demo --keluar /tmp/demo
    python docs/contoh/make.py /tmp/demo          # writes docs/contoh/<kind>.png

For each folder of the demo's documents (``documents/<year>/<kind>/``) the first file is taken
(its PDF when the demo made one, else the .docx or .xlsx converted with LibreOffice in one
call), one page is rendered with pypdfium2 at about 100 dpi and saved as a small palette PNG.
The page is the first one, except where a later page shows the document better (``PAGE_WITH``:
the Laporan's heat map).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DPI = 100
COLOURS = 256  # a palette PNG keeps a page image around 50–100 KB (fewer colours band the charts)
# A kind whose first page says little: the page that holds this text is shown instead.
PAGE_WITH = {"laporan": "Peta nilai"}
# The order (and the captions) of the gallery; kinds not listed come after, by name.
CAPTIONS = {
    "pemberitahuan": "Surat Pemberitahuan",
    "kuesioner": "Lembar Kuesioner",
    "tanda_terima": "Tanda Terima",
    "pengingat": "Surat Pengingat",
    "undangan": "Surat Undangan",
    "permohonan": "Surat Permohonan",
    "formulir": "Formulir Penilaian Asesmen",
    "daftar_hadir": "Daftar Hadir",
    "berita_acara": "Berita Acara",
    "sk_penetapan": "Keputusan (SK Penetapan)",
    "pengantar_sk": "Surat Pengantar Keputusan",
    "laporan": "Laporan Hasil Kegiatan",
}


def pick(folder: Path) -> Path | None:
    """The folder's first document: its PDF if there is one."""
    files = sorted(p for p in folder.iterdir() if p.suffix in (".pdf", ".docx", ".xlsx"))
    for p in files:
        if p.suffix == ".pdf":
            return p
    return files[0] if files else None


def to_pdf(sources: list[Path], work: Path) -> dict[Path, Path]:
    """Convert every non-PDF source with one LibreOffice call (start-up is the slow part)."""
    todo = [p for p in sources if p.suffix != ".pdf"]
    done = {p: p for p in sources if p.suffix == ".pdf"}
    if todo:
        office = shutil.which("soffice") or shutil.which("libreoffice")
        if office is None:
            sys.exit("LibreOffice (soffice) tidak ditemukan; pasang dulu untuk membuat galeri.")
        for i, p in enumerate(todo):  # distinct names: two kinds may share a file name
            copy = work / f"{i:02d}-{p.name}"
            shutil.copy(p, copy)
            todo[i] = copy
        subprocess.run(
            [office, "--headless", "--convert-to", "pdf", "--outdir", str(work), *map(str, todo)],
            check=True,
            capture_output=True,
            timeout=600,
        )
        originals = [p for p in sources if p.suffix != ".pdf"]
        for original, copy in zip(originals, todo, strict=True):
            done[original] = copy.with_suffix(".pdf")
    return done


def page_image(pdf: Path, target: Path, find: str = "") -> None:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    index = 0
    if find:
        for i in range(len(document)):
            if find in document[i].get_textpage().get_text_range():
                index = i
                break
    image = document[index].render(scale=DPI / 72).to_pil()
    image.convert("RGB").quantize(colors=COLOURS).save(target, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("demo", type=Path, help="the demo's output folder (pemantik demo --keluar)")
    parser.add_argument("--ke", type=Path, default=HERE, help="where the images go")
    args = parser.parse_args()
    years = sorted((args.demo / "documents").glob("[0-9][0-9][0-9][0-9]"))
    if not years:
        sys.exit(f"{args.demo}/documents/<tahun> tidak ada; jalankan dulu pemantik demo.")
    chosen = {f.name: pick(f) for f in sorted(years[-1].iterdir()) if f.is_dir()}
    chosen = {k: v for k, v in chosen.items() if v is not None}
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = to_pdf(list(chosen.values()), Path(tmp))
        for kind, source in list(chosen.items()):
            if not pdfs[source].exists():  # e.g. a workbook where LibreOffice has no Calc
                print(f"{kind}: {source.name} tidak dapat diubah menjadi PDF; dilewati")
                del chosen[kind]
                continue
            target = args.ke / f"{kind}.png"
            page_image(pdfs[source], target, PAGE_WITH.get(kind, ""))
            print(f"{target.name}: {source.name} ({target.stat().st_size // 1024} KB)")
    order = [k for k in CAPTIONS if k in chosen] + sorted(set(chosen) - set(CAPTIONS))
    print("\n| | |\n|---|---|")
    for a, b in zip(order[::2], [*order[1::2], None], strict=True):
        cells = [f"**{CAPTIONS.get(k, k)}**<br>![{k}](docs/contoh/{k}.png)" for k in (a, b) if k]
        print("| " + " | ".join(cells) + (" |" if len(cells) == 2 else " | |"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
