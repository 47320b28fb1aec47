"""Saved configurations: extraction templates and training templates, and the one export file that also carries the
steering presets (through `steering.presets`).

No tasks.py here: saving, exporting and importing templates are quick database work, never background jobs.
"""
