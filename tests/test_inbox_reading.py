"""Reading a reply's text, part by part: decoding, format=flowed, HTML lines, the quote split,
and what the writer's lines say. Pure functions; the corpus (tests/test_inbox_corpus.py) runs
whole messages through the reader."""

from __future__ import annotations

import pytest

from inbox.quotes import split_reply
from inbox.replies import read_reply
from inbox.text import decode_text, html_lines, repair_c1, unflow
from mail.message import REPLY_MARKER


def test_decoding_as_mail_clients_do() -> None:
    cp1252 = "Kepala Seksi – Persandian’s".encode("windows-1252")
    assert decode_text(cp1252, "iso-8859-1") == "Kepala Seksi – Persandian’s"
    assert decode_text("Désy".encode(), "us-ascii") == "Désy"  # UTF-8 under a Latin label
    assert decode_text(cp1252, None) == "Kepala Seksi – Persandian’s"  # no label: detected
    # A short unlabelled line whose only 8-bit byte is a dash: windows-1252, whatever other
    # single-byte code page could also decode it.
    dash = "Kepala Subbagian Umum – Kepegawaian".encode("windows-1252")
    assert decode_text(dash, None) == "Kepala Subbagian Umum – Kepegawaian"
    assert decode_text("Ωμέγα".encode("utf-16"), None) == "Ωμέγα"  # a BOM still wins
    assert decode_text(b"plain", "x-unknown-charset") == "plain"
    assert repair_c1("Ayu\x92s") == "Ayu’s" and repair_c1("biasa") == "biasa"


def test_format_flowed_joins_soft_breaks_only() -> None:
    text = "Delegasi: Budi | Kepala Bidang \r\nAplikasi Informatika\r\n> kutipan \r\n> lanjut\r\n-- \r\nSari"
    assert unflow(text) == (
        "Delegasi: Budi | Kepala Bidang Aplikasi Informatika\n> kutipan lanjut\n-- \nSari"
    )
    assert unflow("satu \r\ndua", delsp=True) == "satudua"


def test_html_lines_keep_the_quote_structure() -> None:
    html = (
        '<div dir="ltr">HADIR<div>Delegasi: A &amp; B | Kabid</div></div>'
        '<div class="gmail_quote"><div class="gmail_attr">On Mon wrote:</div>'
        "<blockquote>TIDAK HADIR</blockquote></div><p>di bawah<br>kutipan</p>"
    )
    assert html_lines(html).split("\n") == [
        "HADIR",
        "Delegasi: A & B | Kabid",
        "> On Mon wrote:",
        "> > TIDAK HADIR",
        "di bawah",
        "kutipan",
    ]
    outlook = '<p>TIDAK HADIR</p><div id="divRplyFwdMsg"><b>From:</b> x</div><p>HADIR</p>'
    assert split_reply(html_lines(outlook)).text == "TIDAK HADIR"


@pytest.mark.parametrize(
    ("text", "own"),
    [
        # Gmail's intro wrapped before the address, top-posting.
        (
            "HADIR\n\nOn Mon, Jul 6, 2026 at 9:12 AM PeManTIK <\npemantik@x.go.id> wrote:\n\n"
            f"> {REPLY_MARKER}\n> Delegasi: Nama Lengkap | Jabatan\n",
            "HADIR",
        ),
        # Bottom-posting under an Indonesian intro, signature dropped.
        (
            "Pada Sen, 6 Jul 2026 PeManTIK menulis:\n> HADIR\n\nTIDAK HADIR\n-- \nSari",
            "TIDAK HADIR",
        ),
        # Interleaved.
        (
            "Pada 06/07/26 09.12, PeManTIK menulis:\n> tanya\nHADIR\n> lagi\nDelegasi: A | B\n> x",
            "HADIR\nDelegasi: A | B",
        ),
        # Outlook: the original unprefixed under its header block, in any language.
        (
            "TIDAK HADIR\n\nVon: PeManTIK <p@x>\nGesendet: Montag\n\n" + REPLY_MARKER + "\nHADIR",
            "TIDAK HADIR",
        ),
        (
            "TIDAK HADIR\n\nDari: PeManTIK <p@x>\nDikirim: Senin\nKepada: x\nSubjek: y\n\nHADIR",
            "TIDAK HADIR",
        ),
        # A client that quotes nothing, under an intro nobody knows: the marker still cuts.
        ("HADIR\n\nPesan dari PeManTIK pada 06-07-2026\n\n" + REPLY_MARKER + "\nBERSEDIA", "HADIR"),
        # An intro in another language (quotequail knows it).
        ("HADIR\nLe lun. 6 juil. 2026 à 09:12, PeManTIK a écrit :\n> BERSEDIA", "HADIR"),
        # Phone sign-offs are not the writer's answer.
        ("Hadir.\n\nDikirim dari iPhone saya\n\nPada 6 Jul 2026, PeManTIK menulis:\n> x", "Hadir."),
    ],
)
def test_split_keeps_only_the_writers_lines(text: str, own: str) -> None:
    assert split_reply(text).text == own


@pytest.mark.parametrize(
    ("text", "party", "confirmation", "reason"),
    [
        ("Kami akan hadir, terima kasih.", "wilayah", "hadir", ""),
        ("TIDAK HADIR karena ada kegiatan lain.", "wilayah", "tidak hadir", "ada kegiatan lain"),
        (
            "Mohon maaf, kami tidak dapat hadir karena rapat DPRD",
            "wilayah",
            "tidak hadir",
            "rapat DPRD",
        ),
        ("Kami berhalangan hadir.", "wilayah", "tidak hadir", ""),
        ("Insya Allah saya bersedia", "asesor", "bersedia", ""),
        ("Saya bersedia hadir.", "asesor", "bersedia", ""),
        (
            "Mohon maaf saya tidak bersedia karena tugas belajar",
            "asesor",
            "tidak bersedia",
            "tugas belajar",
        ),
        ("Kami akan hadir bila sempat.", "wilayah", "", ""),
        ("Apakah kami harus hadir?", "wilayah", "", ""),
    ],
)
def test_sentences_negation_first_reason_after_karena(
    text: str, party: str, confirmation: str, reason: str
) -> None:
    reply = read_reply(text, party)
    assert (reply.confirmation, reply.reason) == (confirmation, reason)
    assert bool(reply.unclear) == (confirmation == "")


def test_delegates_wrapped_listed_and_examples_refused() -> None:
    wrapped = read_reply(
        "HADIR\nDelegasi: Drs. H. Muhammad Faisal Rahman, M.Si. | Kepala Bidang Aplikasi\n"
        "Informatika dan Persandian\nDemikian, terima kasih.",
        "wilayah",
    )
    assert wrapped.delegates == [
        {
            "nama": "Drs. H. Muhammad Faisal Rahman, M.Si.",
            "jabatan": "Kepala Bidang Aplikasi Informatika dan Persandian",
        }
    ]
    assert not wrapped.problems
    listed = read_reply("HADIR\nDelegasi:\n1. Budi, S.Kom. - Kabid\n2. Sari (Staf)", "wilayah")
    assert listed.delegates == [
        {"nama": "Budi, S.Kom.", "jabatan": "Kabid"},
        {"nama": "Sari", "jabatan": "Staf"},
    ]
    cut = read_reply("HADIR\nDelegasi: Budi | Kepala Bidang\nAplikasi", "wilayah")
    assert cut.problems and "baris 3 ('Aplikasi')" in cut.problems[0]
    example = read_reply("HADIR\nDelegasi: Nama Lengkap | Jabatan", "wilayah")
    assert example.delegates == [] and "baris 2" in example.problems[0]
    statement = read_reply(
        "BERSEDIA\nPernyataan: (pernyataan bebas benturan kepentingan, wajib bila bersedia)",
        "asesor",
    )
    assert statement.statement == "" and "masih berupa contoh" in statement.problems[0]
    free = read_reply("Saya bersedia. Saya tidak memiliki benturan kepentingan.", "asesor")
    assert free.statement == "Saya tidak memiliki benturan kepentingan."
    both = read_reply("Kami hadir. Mohon maaf, kami tidak hadir.", "wilayah")
    assert both.problems and "bertentangan" in both.problems[0]


def test_delegates_in_a_table() -> None:
    html = (
        "<p>HADIR</p><table><tr><th>Nama</th><th>Jabatan</th></tr>"
        "<tr><td>Andi Pratama</td><td>Pranata Komputer</td></tr><tr><td>Sari</td><td>Staf</td></tr>"
        "</table>"
    )
    reply = read_reply(split_reply(html_lines(html)), "wilayah")
    assert reply.confirmation == "hadir" and not reply.problems
    assert reply.delegates == [
        {"nama": "Andi Pratama", "jabatan": "Pranata Komputer"},
        {"nama": "Sari", "jabatan": "Staf"},
    ]
    typed = read_reply("HADIR\nNo | Nama | Jabatan\n1 | Budi | Kabid\n2. | Sari | Staf", "wilayah")
    assert [d["nama"] for d in typed.delegates] == ["Budi", "Sari"]
