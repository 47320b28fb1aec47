"""Saved configurations (extraction templates now; training templates and steering presets later).

No tasks.py here: saving, exporting and importing templates are quick database work, never background jobs.
"""
