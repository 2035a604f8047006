"""The portal: regions' officers, assessors and the admin work in a browser, without accounts.

A personal link (``/t/<token>``, made by models/tokens.py, written into every email by the
outbox) opens the portal as one person for one cycle. Server-rendered pages (FastAPI + Jinja2,
plain forms); every input goes through ``services.waits.submit``, the same door as the Prefect
UI, the CLI and email. ``pemantik portal`` serves it; see the README for the HTTPS proxy.
"""
