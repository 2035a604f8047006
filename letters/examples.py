"""Example inputs for every document kind (``pemantik surat contoh``, tests, the benchmark).

The names are examples only (marked "contoh"); the indicator list follows SPBE 2020's 47
indicators in four domains as summarised in DOMAIN.md.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

_SPBE_DOMAINS = [
    ("Kebijakan Internal SPBE", 1, 10),
    ("Tata Kelola SPBE", 11, 20),
    ("Manajemen SPBE", 21, 31),
    ("Layanan SPBE", 32, 47),
]
_SPBE_NAMES = [
    "Kebijakan Internal Arsitektur SPBE",
    "Kebijakan Internal Peta Rencana SPBE",
    "Kebijakan Internal Manajemen Data",
    "Kebijakan Internal Pembangunan Aplikasi SPBE",
    "Kebijakan Internal Layanan Pusat Data",
    "Kebijakan Internal Layanan Jaringan Intra",
    "Kebijakan Internal Penggunaan Sistem Penghubung Layanan",
    "Kebijakan Internal Manajemen Keamanan Informasi",
    "Kebijakan Internal Audit TIK",
    "Kebijakan Internal Tim Koordinasi SPBE",
    "Arsitektur SPBE",
    "Peta Rencana SPBE",
    "Keterpaduan Rencana dan Anggaran SPBE",
    "Inovasi Proses Bisnis SPBE",
    "Pembangunan Aplikasi SPBE",
    "Layanan Pusat Data",
    "Layanan Jaringan Intra",
    "Penggunaan Sistem Penghubung Layanan",
    "Tim Koordinasi SPBE",
    "Kolaborasi Penerapan SPBE",
    "Penerapan Manajemen Risiko SPBE",
    "Penerapan Manajemen Keamanan Informasi",
    "Penerapan Manajemen Data",
    "Penerapan Manajemen Aset TIK",
    "Penerapan Kompetensi Sumber Daya Manusia",
    "Penerapan Manajemen Pengetahuan",
    "Penerapan Manajemen Perubahan",
    "Penerapan Manajemen Layanan SPBE",
    "Pelaksanaan Audit Infrastruktur SPBE",
    "Pelaksanaan Audit Aplikasi SPBE",
    "Pelaksanaan Audit Keamanan SPBE",
    "Layanan Perencanaan",
    "Layanan Penganggaran",
    "Layanan Keuangan",
    "Layanan Pengadaan Barang dan Jasa",
    "Layanan Kepegawaian",
    "Layanan Kearsipan Dinamis",
    "Layanan Pengelolaan Barang Milik Daerah",
    "Layanan Pengawasan Internal Pemerintah",
    "Layanan Akuntabilitas Kinerja Organisasi",
    "Layanan Kinerja Pegawai",
    "Layanan Pengaduan Pelayanan Publik",
    "Layanan Data Terbuka",
    "Layanan Jaringan Dokumentasi dan Informasi Hukum",
    "Layanan Publik Sektor 1",
    "Layanan Publik Sektor 2",
    "Layanan Publik Sektor 3",
]
DIMENSIONS = [d for d, _, _ in _SPBE_DOMAINS]
INSTRUMENT = "SPBE 2020 (PermenPANRB Nomor 59 Tahun 2020)"


def _dimension_of(n: int) -> str:
    for name, first, last in _SPBE_DOMAINS:
        if first <= n <= last:
            return name
    raise ValueError(n)


def _levels(seed: int) -> list[int]:
    # Deterministic, varied levels 1..5 without random.
    return [1 + (seed * 7 + i * 3 + (i * i) % 5) % 5 for i in range(47)]


def example_region(i: int = 0) -> tuple[str, str]:
    regions = [
        ("64.72", "Kota Samarinda"),
        ("64.71", "Kota Balikpapan"),
        ("64.74", "Kota Bontang"),
        ("64.01", "Kabupaten Paser"),
        ("64.02", "Kabupaten Kutai Kartanegara"),
        ("64.03", "Kabupaten Berau"),
        ("64.07", "Kabupaten Kutai Barat"),
        ("64.08", "Kabupaten Kutai Timur"),
        ("64.09", "Kabupaten Penajam Paser Utara"),
        ("64.11", "Kabupaten Mahakam Ulu"),
    ]
    if i < len(regions):
        return regions[i]
    return f"99.{i:03d}", f"Kabupaten Contoh {i}"


def _dimension_weights() -> dict[str, float]:
    """The example dimensions' weights (%), from the shipped SPBE 2020 instrument."""
    from assessment.instruments import load_instrument

    return {d.name: d.weight for d in load_instrument("spbe-2020").dimensions}


def _weighted_total(dims: dict[str, float]) -> float:
    """Σ weight × dimension score, so an example's rows add up to its total."""
    weights = _dimension_weights()
    exact = sum(Decimal(repr(s)) * Decimal(repr(weights[d])) / 100 for d, s in dims.items())
    return float(exact)


def _region_scores(i: int) -> dict[str, float]:
    levels = _levels(i)
    scores = {}
    for name, first, last in _SPBE_DOMAINS:
        part = levels[first - 1 : last]
        scores[name] = round(sum(part) / len(part), 2)
    return scores


def example_inputs(region_index: int = 0, year: int = 2026) -> dict[str, dict[str, Any]]:
    """One example input (as plain dicts) for every kind, for region number ``region_index``."""
    from letters.legal import sk_sections

    code, name = example_region(region_index)
    sections = sk_sections()
    head = f"Kepala Dinas Komunikasi dan Informatika {name}"
    start = date(year, 7, 1)
    session = date(year, 8, 12)
    assessors = [
        {"name": "Dr. Asesor Pertama, M.Kom. (contoh)", "instansi": "Universitas Mulawarman"},
        {
            "name": "Asesor Kedua, S.Kom. (contoh)",
            "instansi": "Diskominfo Prov. Kaltim",
            "nip": "198503122010011002",
        },
    ]
    levels = _levels(region_index)
    indicators = []
    for n in range(1, 48):
        lvl = levels[n - 1]
        indicators.append(
            {
                "code": str(n),
                "name": f"Tingkat Kematangan {_SPBE_NAMES[n - 1]}",
                "dimension": _dimension_of(n),
                "self_level": min(5, lvl + 1),
                "scores": [
                    {
                        "assessor": assessors[0]["name"],
                        "level": lvl,
                        "note": "" if n % 4 else "bukti dukung kurang lengkap",
                    },
                    {"assessor": assessors[1]["name"], "level": lvl},
                ],
                "final_level": lvl,
            }
        )
    dims = _region_scores(region_index)
    total = _weighted_total(dims)
    predicate = _predicate(total)
    weights = _dimension_weights()
    dim_rows = [
        {
            "name": d,
            "score": s,
            "weight": weights[d],
            "weighted": Decimal(repr(s)) * Decimal(repr(weights[d])) / 100,
        }
        for d, s in dims.items()
    ]
    cc = [
        "Gubernur Kalimantan Timur (sebagai laporan)",
        "Sekretaris Daerah Provinsi Kalimantan Timur",
    ]
    ranking = []
    results = []
    all_totals = []
    for j in range(10):
        rc, rn = example_region(j)
        d = _region_scores(j)
        all_totals.append((_weighted_total(d), rc, rn, d))
    all_totals.sort(key=lambda t: (-t[0], t[1]))
    for rank, (t, rc, rn, d) in enumerate(all_totals, 1):
        ranking.append(
            {
                "rank": rank,
                "region_code": rc,
                "region_name": rn,
                "total": t,
                "predicate": _predicate(t),
            }
        )
        results.append(
            {
                "rank": rank,
                "region_code": rc,
                "region_name": rn,
                "total": t,
                "predicate": _predicate(t),
                "dimensions": d,
            }
        )
    tz = ZoneInfo("Asia/Makassar")
    return {
        "pemberitahuan": {
            "addressee": {"name": head},
            "year": year,
            "region_name": name,
            "deadline": (start + timedelta(days=9)).isoformat(),
            "instrument_name": INSTRUMENT,
            "questionnaire_file": f"kuesioner-pemantik-{year}-{code}.xlsx",
            "contact": "Seksi Pengelolaan e-Government, telepon (0541) 733333",
        },
        "tanda_terima": {
            "addressee": {"name": head},
            "year": year,
            "region_name": name,
            "received_at": datetime(year, 7, 10, 14, 5, tzinfo=tz).isoformat(),
            "version": 1,
            "file_name": f"kuesioner-pemantik-{year}-{code}.xlsx",
            "sha256": "9f2c" * 16,
            "indicator_count": 47,
            "submitted_by": f"Petugas Penghubung Contoh {name}",
        },
        "undangan": {
            "addressee": {"name": head},
            "year": year,
            "region_name": name,
            "event_date": session.isoformat(),
            "time_start": "09.00",
            "time_end": "12.00",
            "venue": "Ruang Rapat Diskominfo Prov. Kaltim, Jalan Basuki Rahmat Nomor 41, Samarinda",
            "online_link": "https://zoom.example/j/123456789",
            "agenda": f"Penilaian (asesmen) PeManTIK {name} Tahun {year}",
            "reply_by": (session - timedelta(days=5)).isoformat(),
            "cc": cc,
        },
        "permohonan": {
            "addressee": {"name": assessors[0]["name"], "place": "Samarinda"},
            "year": year,
            "assessor_name": assessors[0]["name"],
            "institution": assessors[0]["instansi"],
            "regions": [name, example_region(region_index + 1)[1]],
            "event_date": session.isoformat(),
            "time_start": "09.00",
            "venue": "Ruang Rapat Diskominfo Prov. Kaltim",
            "reply_by": (session - timedelta(days=7)).isoformat(),
        },
        "pengingat": {
            "addressee": {"name": head},
            "year": year,
            "region_name": name,
            "pending": "jawaban kuesioner PeManTIK",
            "reference_number": f"005/1/Diskominfo/{year}",
            "reference_date": start.isoformat(),
            "due_date": (start + timedelta(days=9)).isoformat(),
            "new_due_date": (start + timedelta(days=16)).isoformat(),
        },
        "formulir": {
            "year": year,
            "region_code": code,
            "region_name": name,
            "instrument_name": INSTRUMENT,
            "session_date": session.isoformat(),
            "assessors": assessors,
            "indicators": indicators,
            "dimensions": dim_rows,
            "total": total,
            "predicate": predicate,
        },
        "berita_acara": {
            "year": year,
            "region_name": name,
            "event_date": session.isoformat(),
            "place": "Samarinda",
            "parties": [
                {
                    "name": assessors[0]["name"],
                    "jabatan": "Asesor",
                    "instansi": assessors[0]["instansi"],
                },
                {
                    "name": assessors[1]["name"],
                    "jabatan": "Asesor",
                    "instansi": assessors[1]["instansi"],
                },
                {
                    "name": f"Petugas Penghubung Contoh {name}",
                    "jabatan": "Pengelola TIK",
                    "instansi": f"Diskominfo {name}",
                },
            ],
            "instrument_name": INSTRUMENT,
            "dimensions": dim_rows,
            "total": total,
            "predicate": predicate,
            "signers": [
                {"name": assessors[0]["name"], "jabatan": "Asesor I"},
                {"name": assessors[1]["name"], "jabatan": "Asesor II", "nip": assessors[1]["nip"]},
                {"name": f"Petugas Penghubung Contoh {name}", "jabatan": f"Perwakilan {name}"},
            ],
        },
        "sk_penetapan": {
            "year": year,
            "instrument_name": INSTRUMENT,
            "ranking": ranking,
            "considerations": sections.considerations,
            "legal_bases": sections.legal_bases,
            "cc": sections.cc or cc,
        },
        "laporan": {
            "year": year,
            "cycle_name": f"Siklus PeManTIK {year}",
            "instrument_name": INSTRUMENT,
            "start_date": start.isoformat(),
            "end_date": date(year, 9, 30).isoformat(),
            "report_date": date(year, 10, 5).isoformat(),
            "timeline": _example_timeline(start),
            "results": results,
            "dimensions": DIMENSIONS,
            "scale_max": 5,
            "letters": [
                {
                    "number": f"005/{k}/Diskominfo/{year}",
                    "subject": f"Pemberitahuan Pengisian Kuesioner PeManTIK Tahun {year}",
                    "letter_date": start.isoformat(),
                    "addressee": example_region(k - 1)[1],
                }
                for k in range(1, 11)
            ],
        },
        "daftar_hadir": {
            "year": year,
            "region_name": name,
            "event_date": session.isoformat(),
            "place": "Ruang Rapat Diskominfo Provinsi",
            "agenda": "Penilaian PeManTIK",
            "people": [
                {"name": a["name"], "jabatan": "Asesor", "instansi": a["instansi"]}
                for a in assessors[:2]
            ]
            + [
                {
                    "name": f"PIC Contoh {name}",
                    "jabatan": "Pengelola TIK",
                    "instansi": f"Diskominfo {name}",
                }
            ],
        },
        "pengantar_sk": {
            "year": year,
            "addressee": {"name": f"Kepala Daerah {name}"},
            "region_name": name,
            "sk_number": f"100.3.3.2/K.1/Diskominfo/{year}",
            "sk_date": date(year, 10, 5).isoformat(),
            "ba_number": f"400.14.2.4/BA.1/Diskominfo/{year}",
            "total": total,
            "predicate": predicate,
            "rank": 1,
            "region_count": 10,
            "cc": [head],
        },
    }


def _example_timeline(start: date) -> list[dict[str, Any]]:
    from models.sop import sop_steps

    items = []
    day = start
    for step in sop_steps():
        due = day + timedelta(days=step.sla_days)
        items.append(
            {
                "step_no": step.number,
                "activity": step.activity,
                "actor": step.actor,
                "due_date": due.isoformat(),
                "completed_on": due.isoformat(),
                "done": 10,
                "total": 10,
            }
        )
        day = due
    return items


def _predicate(total: float) -> str:
    # Example cut-offs (SPBE 2020 predicates, DOMAIN.md); the real ones come from the instrument.
    if total >= 4.2:
        return "Memuaskan"
    if total >= 3.5:
        return "Sangat Baik"
    if total >= 2.6:
        return "Baik"
    if total >= 1.8:
        return "Cukup"
    return "Kurang"
