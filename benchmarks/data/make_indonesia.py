"""Build ``regions-indonesia.csv`` (all 514 Kab/Kota) and ``assessors-indonesia.csv``.

    python benchmarks/data/make_indonesia.py path/to/wilayah.sql

The codes and names are those of Kepmendagri No. 300.2.2-2138 Tahun 2025 (Kode dan Data
Wilayah Administrasi Pemerintahan), taken from the ``db/wilayah.sql`` file of the public
repository github.com/cahyadsn/wilayah (MIT). Contacts are placeholders on ``contoh.example``;
the assessor pool is synthetic (one assessor per five regions, spread over the provinces).
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROW = re.compile(r"\('(\d{2}(?:\.\d{2})?)','([^']*)'\)")


def main(source: Path) -> None:
    text = source.read_text(encoding="utf-8", errors="replace")
    provinces: dict[str, str] = {}
    regions: list[tuple[str, str]] = []
    for code, name in ROW.findall(text):
        if "." in code:
            regions.append((code, " ".join(name.split())))
        else:
            provinces[code] = name
    regions.sort()
    with (HERE / "regions-indonesia.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(
            ["kode", "nama", "jenis", "provinsi", "pic_nama", "pic_email", "kepala_jabatan",
             "kepala_email"]
        )
        for code, name in regions:
            kind = "Kota" if name.startswith("Kota") else "Kabupaten"
            short = re.sub(r"^(Kabupaten|Kota)( Administrasi)? ", "", name)
            slug = re.sub(r"[^a-z0-9]+", "-", short.lower()).strip("-")
            digits = code.replace(".", "")
            out.writerow(
                [
                    code,
                    name,
                    kind,
                    provinces[code[:2]],
                    f"PIC Contoh {short}",
                    f"pic.{digits}.{slug}@contoh.example",
                    f"Kepala Dinas Komunikasi dan Informatika {name}",
                    f"kadis.{digits}@contoh.example",
                ]
            )
    by_province: dict[str, list[str]] = {}
    for code, _ in regions:
        by_province.setdefault(code[:2], []).append(code)
    count = max(6, len(regions) // 5)
    province_codes = sorted(by_province)
    with (HERE / "assessors-indonesia.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["nama", "email", "instansi", "jabatan", "nip", "wilayah_asal"])
        for i in range(count):
            province = province_codes[i % len(province_codes)]
            homes = by_province[province]
            home = homes[(i // len(province_codes)) % len(homes)] if i % 4 else ""
            institution = (
                f"Diskominfo Provinsi {provinces[province]}"
                if not home
                else f"Universitas Contoh {provinces[province]}"
            )
            out.writerow(
                [
                    f"Asesor Contoh {i + 1:03d}",
                    f"asesor{i + 1:03d}@contoh.example",
                    institution,
                    "Dosen" if home else "Pranata Komputer Ahli Muda",
                    "",
                    home,
                ]
            )
    print(f"{len(regions)} wilayah, {count} asesor")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
