"""Saved configurations: extraction templates and training templates (steering presets later).

No tasks.py here: saving, exporting and importing templates are quick database work, never background jobs.
"""
