"""Official documents (Tata Naskah Dinas) and the letter-number register.

Public API (no Prefect, no SMTP here):

- :func:`letters.service.issue_letter` — validate, number, render and store a numbered letter
  (idempotent by key); :func:`letters.service.make_pdfs` — PDFs for several letters in one
  LibreOffice call; :func:`letters.service.regenerate` — rebuild a letter from its snapshot;
  :func:`letters.service.store_document` — unnumbered documents (formulir, daftar hadir, laporan).
- :func:`letters.render.render_document` — render one document to a path (no database).
- :mod:`letters.inputs` — the pydantic input model of every kind.
- :mod:`letters.register` — the registers per family (:func:`register_of`, :func:`take_number`,
  :func:`format_number`); :mod:`letters.legal` — the SK's legal bases (:func:`sk_sections`).
- :mod:`letters.laporan` — the Laporan's timeline from step records.
- Wording: ``letters/templates/*.j2`` (jinja2), overridable with ``PEMANTIK_TEMPLATES_DIR``.
"""
