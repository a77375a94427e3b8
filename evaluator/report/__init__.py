"""Renderers: report.json, report.md and the baseline file, from the typed results. They render; the stages
compute."""
