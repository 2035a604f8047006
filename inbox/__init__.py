"""The inbound mailbox: replies by email answer the waiting flows (issue 8).

Modules: :mod:`inbox.reader` (one reading pass), :mod:`inbox.sources` (Maildir / IMAP over
TLS), :mod:`inbox.store` (raw file + row), :mod:`inbox.parse` (headers, reply text,
attachments), :mod:`inbox.match` (which cycle/region, may the sender act), :mod:`inbox.replies`
(what the reply says), :mod:`inbox.act` (hand it to the door, answer, tell the admin),
:mod:`inbox.compose` (write a reply, for the demo and the tests). Prefect lives in
``flows/inbox_flow.py``, the CLI in ``deployments/cli_inbox.py``.

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

Keywords are case-insensitive but must stand on their own line; lines starting with ``>`` and
everything from the quoted original's header (``On … wrote:``, ``Pada … menulis:``,
``-----Original Message-----``, ``Dari: …``) or a ``--`` signature separator on are ignored.
"""
