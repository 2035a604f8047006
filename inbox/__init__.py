"""The inbound mailbox: replies by email answer the waiting flows (issue 8).

Modules: :mod:`inbox.reader` (one reading pass), :mod:`inbox.sources` (Maildir / IMAP over
TLS), :mod:`inbox.store` (raw file + row), :mod:`inbox.parse` (headers, the writer's text,
attachments — also inside forwarded messages), :mod:`inbox.text` (decoding as mail clients do,
format=flowed, HTML to quote-structured lines), :mod:`inbox.quotes` (the writer's lines apart
from the quote), :mod:`inbox.match` (which cycle/region, may the sender act; a workbook's own
metadata), :mod:`inbox.replies` (what the writer's lines say), :mod:`inbox.act` (hand it to
the door, answer, tell the admin, release from quarantine), :mod:`inbox.compose` (write a
reply, for the demo and the tests). Prefect lives in ``flows/inbox_flow.py`` and
``flows/inbox_admin.py`` (the release form), the CLI in ``deployments/cli_inbox.py``.

The reply format (also sent to people in the ``balasan_otomatis`` template): reply to the
PeManTIK email (keep the reference token ``[PEMANTIK-2026-64.72]`` in the subject); write each
statement on its own line at the top of the reply, above the quoted original:

* questionnaire answers (Kab/Kota): attach the filled Lembar Kuesioner (``.xlsx``);
* attendance (Kab/Kota): ``HADIR`` or ``TIDAK HADIR`` (also ``Konfirmasi: HADIR``), then one
  line per delegate ``Delegasi: Nama Lengkap | Jabatan``; ``Alasan: ...`` when not attending;
* willingness (assessor): ``BERSEDIA`` or ``TIDAK BERSEDIA``, then ``Pernyataan: ...`` (the
  conflict-of-interest statement, required when willing); ``Alasan: ...`` when declining;
* scores (assessor): attach a ``.csv`` (``kode,tingkat,catatan``) or ``.json``
  (``{"kode": {"level": 3, "note": "..."}}``), the formats ``pemantik nilai`` reads;
* acknowledgement of receipt (steps 2 and 7): ``DITERIMA``, or ``Diterima oleh: Nama, Nomor
  agenda: 123/ABC/2026, Tanggal diterima: 2026-07-02`` (the date also as 02-07-2026 or
  2 Juli 2026; the email's date when absent). It may accompany any of the above.

Keywords are case-insensitive; a confirmation may also be a sentence ("Kami akan hadir, terima
kasih.", "TIDAK HADIR karena …", where a negation wins and the words after "karena" are the
reason). Only the writer's own lines are read: quoted lines, the quoted original (found by its
intro line in any common client, by Outlook's header block, or by the product's own first line
``##- Mohon tulis balasan … (PeManTIK) -##`` that every outgoing message carries), signatures
and phone sign-offs are never data, and the format's examples are refused. The corpus in
``tests/reply_corpus.py`` shows what each client sends and what the reader answers.
"""
