"""Values from data or params made inert in Markdown, and documents kept within GitHub's limit.

A category value, a column or member name, a parameter's value or a failed check's observation
may hold anything: `[approve](https://evil.example)`, `@org/team`, `<img src=...>`, a newline and
a heading, 100,000 characters. Whatever of it reaches a PR comment, a retraining PR's body, the
drift report or the model card goes through `text` (plain text), `code` (a code span) or `label`
(a Mermaid axis label), each on one line and cut to a width; every document through `cap`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

LIMIT = 65_536  # characters in a GitHub comment or pull-request body
RESERVE = 1_000  # room for what others append (CML's watermark line)
WIDTH = 120  # characters of one value, unless a caller says otherwise

# Marks that make Markdown (or GitHub's flavour of it) of plain text wherever they stand:
# emphasis, code, links and images, raw HTML and entities, tables, strikethrough, math.
ALWAYS = re.compile(r"[\\`*\[\]<>&|~$#!]")
# `_` only starts emphasis next to a non-alphanumeric character; inside snake_case it is text.
UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# A value at the start of a line must not start a list, a heading underline or a numbered item.
LEADING_MARK = re.compile(r"^([-+=])")
LEADING_NUMBER = re.compile(r"^(\d+)([.)])")
# What GitHub links after rendering, in text CommonMark leaves alone: @mentions and e-mail
# addresses, #references, URL schemes and emoji (`:`), `www.` hosts. A zero-width joiner after
# the mark leaves the text as it reads and breaks the link.
LINKING = re.compile(r"[@#:]|(?i:www)(?=\.)")
JOINER = "\u200d"


def one_line(value: Any, width: int = WIDTH) -> str:
    """`value` as text on one line: control and invisible format characters (bidi overrides
    included) become spaces, runs of spaces one; cut to `width` characters, ending in `…`."""
    raw = str(value)
    head = raw[: width * 8]  # enough for `width` characters after spaces are squeezed
    flat = "".join(" " if unicodedata.category(char)[0] in "CZ" else char for char in head)
    flat = " ".join(flat.split())
    if len(flat) > width or len(raw) > len(head):
        flat = flat[: max(width - 1, 0)].rstrip() + "…"
    return flat


def text(value: Any, width: int = WIDTH) -> str:
    """`value` as inert Markdown text, safe in a paragraph, a list item and a table cell: it
    shows as it reads and renders no link, image, mention, HTML, emphasis or table column."""
    flat = one_line(value, width)
    flat = LINKING.sub(lambda found: found.group(0) + JOINER, flat)
    flat = ALWAYS.sub(lambda found: "\\" + found.group(0), flat)
    flat = UNDERSCORE.sub(r"\\_", flat)
    flat = LEADING_MARK.sub(r"\\\1", flat)
    return LEADING_NUMBER.sub(r"\1\\\2", flat)


def code(value: Any, width: int = WIDTH, cell: bool = False) -> str:
    """`value` as one code span that no backtick in it can close early; `cell`: it stands in a
    table, where GitHub splits cells at every `|` not escaped, even inside code."""
    flat = one_line(value, width)
    if cell:
        flat = flat.replace("|", "\\|")
    if not flat:
        return "` `"
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def label(value: Any, width: int = 20) -> str:
    """`value` as a quoted Mermaid axis label: one line, no quote or backtick that would end or
    restyle it, a long one keeping its start and its end."""
    flat = one_line(value, 200).replace('"', "'").replace("`", "'").replace("<", "\u2039")
    if len(flat) > width:
        keep = (width - 1) // 2
        flat = f"{flat[: width - 1 - keep]}…{flat[-keep:] if keep else ''}"
    return f'"{flat}"'


def size(document: str) -> int:
    """Length in UTF-16 code units, as GitHub counts it (🟢 is two); never below len()."""
    return len(document.encode("utf-16-le")) // 2


def cap(document: str, limit: int = LIMIT - RESERVE, where: str = "") -> str:
    """`document`, or as many of its whole lines as fit in `limit` with a note that says so;
    a code block or a <details> left open by the cut is closed. `where`: where the rest is."""
    if size(document) <= limit:
        return document
    note = f"\n… the rest is left out to fit GitHub's {LIMIT:,}-character limit{where}.\n"
    budget = limit - size(note) - 100  # room for the fence and </details> that close the cut
    lines, fence, details = [], "", 0
    for line in document.splitlines():
        cost = size(line) + 1
        if cost > budget:
            if not lines:  # one line longer than the limit: its start
                lines.append(one_line(line, max(budget // 2, 1)))
            break
        budget -= cost
        lines.append(line)
        marker = re.match(r"\s{0,3}(`{3,}|~{3,})", line)
        if marker and not fence:
            fence = marker.group(1)
        elif marker and marker.group(1).startswith(fence) and line.strip() == marker.group(1):
            fence = ""
        if not fence:
            details += line.count("<details") - line.count("</details>")
    closing = ([fence] if fence else []) + ["</details>"] * min(max(details, 0), 5)
    return "\n".join(lines + closing) + "\n" + note
