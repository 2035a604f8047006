"""Deadlines, reminders and escalation on working days, extensions and the cycle status grid.

No Prefect here: the reminder flow in ``flows/reminder_flow.py`` is a thin wrapper.
"""
