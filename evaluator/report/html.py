"""report.html: one self-contained page to explore a run (docs/usage.md, "Reports"): the verdict and gates, charts,
and every case with production beside the candidate. It embeds report.json's own text and draws everything from it
in the page (evaluator/report/page/): no server, no network, no second copy of the truth."""

from __future__ import annotations

import html
from importlib import resources

CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
"""Nothing outside the file may load: not a script, a style, a font, an image or a request."""


def _page_file(name: str) -> str:
    return resources.files("evaluator").joinpath("report", "page", name).read_text(encoding="utf-8")


def embedded_json(report_text: str) -> str:
    """report.json's text, safe inside a <script> element: `<`, `>` and `&` as JSON escapes (still the same JSON),
    so no string of the report can close the element or open a tag."""
    return report_text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_html(report_text: str, title: str) -> str:
    """The page for one report.json (its exact text), opening from disk in any current browser."""
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(title)}</title>\n<style>\n{_page_file('report.css')}</style>\n</head>\n<body>\n"
        "<div id=\"app\"></div>\n"
        f"<script type=\"application/json\" id=\"report-data\">{embedded_json(report_text)}</script>\n"
        f"<script>\n{_page_file('report.js')}</script>\n</body>\n</html>\n"
    )
