"""Assessment: instruments, the Lembar Kuesioner, answers, assessors, scores and results.

No Prefect imports here; the tasks layer calls these functions.

- ``assessment.instruments``: ``load_instrument(code_or_path)``, ``list_instruments()``,
  ``parse_instrument(text, source)``; YAML files in ``assessment/data/instruments`` and in
  ``PEMANTIK_INSTRUMENTS_DIR``.
- ``assessment.workbook``: ``build_questionnaire(instrument, *, cycle_year, cycle_id,
  region_code, region_name, out_path)``.
- ``assessment.answers``: ``parse_workbook``, ``parse_answers_json``, ``store_answers``,
  ``validate_and_store`` (the one entry for every door), ``latest_answers``.
- ``assessment.assignment``: ``assign_assessors``, ``pick_replacement``.
- ``assessment.scoring``: ``compute_result``, ``rank_results`` (pure).
- ``assessment.results``: ``submit_scores``, ``scores_visible_to``, ``missing_assessors``,
  ``finalize_result``, ``lock_result``, ``unlock_result``.
- ``assessment.export`` / ``assessment.charts``: CSV/XLSX exports and PNG charts.
- ``assessment.settings``: the package's own settings (spread, rounding, workbook limits).
"""
