"""Document and user text made inert for Gradio's Markdown renderer (Chatbot, gr.Markdown).

Gradio renders Chatbot messages and gr.Markdown with marked (GitHub-flavoured Markdown) and
then a sanitizer that strips scripts but keeps ordinary HTML. A document line could therefore
show a fake app badge, bold instructions, a phishing link or a remote image (review F9).
`md_text` turns any text into Markdown that displays exactly that text:

- `<`, `>` and `&` become HTML entities, so no tag survives (the literal text still shows);
- Markdown punctuation that can start emphasis, code, links, images, tables or strikethrough
  is backslash-escaped wherever it appears;
- block syntax that only counts at the start of a line (headings, lists, rules, setext
  underlines, indented code) is escaped there;
- bare URLs, `www.` hosts and e-mail addresses are broken up so GFM does not autolink them.

Characters that mean nothing to Markdown mid-line (`-`, `.`, `:`, `(`, ...) stay as they are,
so ids like "SOP-STE-001 rev 5" read the same in the raw API value as on screen. HTML
contexts (gr.HTML: citation cards, source viewer) need only `html.escape`: they render no
Markdown.
"""

from __future__ import annotations

import html
import re

# Significant anywhere in a line: emphasis (* _), code (`), links and images ([ ]), tables
# (|), strikethrough (~), LaTeX ($), e-mail autolinks (@) and the escape character itself.
_ANYWHERE = re.compile(r"([\\`*_\[\]|~$@])")
# Significant only as the first character of a line: headings, list items, block quotes
# (already an entity), thematic breaks and setext underlines.
_LINE_START = re.compile(r"^([#+\-=])")
_ORDERED_ITEM = re.compile(r"^(\d{1,9})([.)])")
# GFM autolinks "http://", "https://", "ftp://" and "www." without angle brackets.
# Every ":" before "//" is escaped (a scheme can then never start a link). Matching the scheme
# itself, `\b[a-z][a-z0-9+.-]*:`, restarted after every "-" of "a-a-a-...": quadratic (8 KB
# 0.5 s, a megabyte for hours).
_SCHEME = re.compile(r":(?=//)")
_WWW = re.compile(r"(?i)\b(www)\.")


def md_text(text: object) -> str:
    """`text` as Markdown that renders as that literal text (line breaks kept)."""
    return "\n".join(_line(line) for line in str(text).split("\n"))


def _line(line: str) -> str:
    # Leading blanks would make an indented code block (or continue a list): drop them.
    line = line.strip(" \t\r\f\v")
    line = html.escape(line, quote=False)
    line = _ANYWHERE.sub(r"\\\1", line)
    line = _SCHEME.sub(r"\\:", line)
    line = _WWW.sub(r"\1\\.", line)
    line = _ORDERED_ITEM.sub(r"\1\\\2", line)
    return _LINE_START.sub(r"\\\1", line)


def quoted_md(text: str) -> str:
    """An answer's text with its quotation structure kept: lines the answer pipeline prefixed
    with "> " (verbatim document lines) stay block quotes, and everything in every line,
    including the quoted line itself, is made inert."""
    lines = []
    for line in str(text).split("\n"):
        if line.startswith("> "):
            lines.append("> " + md_text(line[2:]))
        else:
            lines.append(md_text(line))
    return "\n".join(lines)
