"""A tiny, safe Markdown renderer for ``analysis.md``: headings, bullet and numbered lists, **bold**, `code`,
fenced code blocks, pipe tables and paragraphs. Nothing else (no links, no images, no raw HTML).

Safety comes from the order: every line is HTML-escaped first, and only then are the few tags above added, so
text from a dataset (a title such as ``<script>alert(1)</script>``) stays text.
"""

from __future__ import annotations

import html
import re

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
BOLD = re.compile(r"\*\*(.+?)\*\*")
CODE = re.compile(r"(`+)(.+?)\1")


def inline(text: str) -> str:
    """Escape ``text``, then mark up `code` spans and **bold** (bold never inside code)."""
    out = []
    pos = 0
    for m in CODE.finditer(text):
        out.append(BOLD.sub(r"<strong>\1</strong>", html.escape(text[pos:m.start()])))
        out.append(f"<code>{html.escape(m.group(2))}</code>")
        pos = m.end()
    out.append(BOLD.sub(r"<strong>\1</strong>", html.escape(text[pos:])))
    return "".join(out)


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]


def _table(lines: list[str]) -> str:
    head, body = _cells(lines[0]), [_cells(ln) for ln in lines[2:]]
    rows = ["<thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head) + "</tr></thead><tbody>"]
    for cells in body:
        cells = (cells + [""] * len(head))[:len(head)]
        rows.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in cells) + "</tr>")
    return '<table class="md">' + "".join(rows) + "</tbody></table>"


def markdown_html(text: str, *, heading_offset: int = 0) -> str:
    """HTML of the Markdown ``text``; ``# x`` becomes ``<h{1 + heading_offset}>`` (at most h6)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []
    list_tag = ""

    def flush() -> None:
        nonlocal list_tag
        if para:
            out.append("<p>" + " ".join(inline(p) for p in para) + "</p>")
            para.clear()
        if items:
            out.append(f"<{list_tag}>" + "".join(f"<li>{inline(i)}</li>" for i in items) + f"</{list_tag}>")
            items.clear()
            list_tag = ""

    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            out.append("<pre><code>" + html.escape("\n".join(lines[i + 1:j])) + "</code></pre>")
            i = j + 1
            continue
        if "|" in line and i + 1 < len(lines) and TABLE_RULE.match(lines[i + 1]) and "|" in lines[i + 1]:
            flush()
            j = i + 2
            while j < len(lines) and "|" in lines[j] and lines[j].strip():
                j += 1
            out.append(_table(lines[i:j]))
            i = j
            continue
        if m := HEADING.match(line):
            flush()
            level = min(6, len(m.group(1)) + heading_offset)
            out.append(f"<h{level}>{inline(m.group(2))}</h{level}>")
        elif (m := BULLET.match(line)) or (n := NUMBERED.match(line)):
            tag = "ul" if m else "ol"
            if para or (items and tag != list_tag):
                flush()
            list_tag = tag
            items.append((m or n).group(1))  # type: ignore[union-attr]
        elif not line.strip():
            flush()
        elif items and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()  # a wrapped list item
        else:
            if items:
                flush()
            para.append(line.strip())
        i += 1
    flush()
    return "\n".join(out)
