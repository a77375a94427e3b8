"""Making text safe and short for Markdown: outside text (model outputs, requests, server messages) becomes inert,
so nothing a model or a server says can inject Markdown, HTML, links or @-mentions into a comment."""

from __future__ import annotations

import html
import re

from evaluator.core.redaction import redact

MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def escape_cell(text: str, limit: int = 160) -> str:
    """Outside text made inert for a Markdown table cell: one line, HTML escaped, Markdown escaped, no
    @-mentions or autolinks, cut to `limit` characters. Secrets are redacted first, from the raw text."""
    one_line = " ".join(redact(text).split())
    if len(one_line) > limit:
        one_line = one_line[: limit - 1] + "…"
    escaped = MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(one_line, quote=False))
    return escaped.replace("@", "@\u200b").replace("://", ":\u200b//") or "*(empty)*"


def code(text: str, limit: int = 80) -> str:
    """Text as an inline code span: Markdown is not interpreted inside it, so only backticks, line breaks and the
    table's pipe need care. Secrets are redacted first, from the raw text."""
    one_line = " ".join(redact(text).split()).replace("`", "'")
    if len(one_line) > limit:
        one_line = one_line[: limit - 1] + "…"
    return "`" + one_line.replace("|", "\\|") + "`"


def signed_points(value: float) -> str:
    """A change of a rate in percentage points, with a real minus sign: `−5.2 pts`."""
    return f"{value * 100:+.1f}".replace("-", "−") + " pts"
