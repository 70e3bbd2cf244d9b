"""Answer, citations, sources and deviations -> Markdown/HTML. Pure functions, testable without
Gradio. Everything that comes from a document or a user is escaped before it is shown: for
Markdown targets (Chatbot, gr.Markdown) with `md_text`, which neutralises HTML *and* Markdown;
for HTML targets (gr.HTML) with `html.escape`. The app's own badges are added outside that
text, so no document can show one (review F9)."""

from __future__ import annotations

import html

from copilot import Answer, Citation, SourceView
from copilot.answer import EvidenceLine
from copilot.text_check import TextCheck

from .safe_text import md_text, quoted_md

BADGES = {
    "grounded": ('<span class="badge badge-verified">✔ Verified against cited sources</span>'),
    "quoted": ('<span class="badge badge-quoted">❝ Quoted from source: from the documents, '
               'verbatim</span>'),
    "declined": ('<span class="badge badge-declined">✖ Declined: not found in the effective '
                 'documents</span>'),
    "refused": ('<span class="badge badge-declined">✖ Refused: site policy — ask a person'
                '</span>'),
}
DECISION_SUPPORT_BADGE = ('<span class="badge badge-support">Decision support — verify against '
                          'the controlled copy</span>')


def answer_markdown(answer: Answer, summary: list[str] | None = None) -> str:
    """Badges, then the answer as inert text: the verified summary (if any) above the evidence
    card (headline, steps, table rows as tables), or the decline; then the reason and the
    decision-support notice. `summary` overrides the answer's while it is being written."""
    parts = [f"{BADGES[answer.status]} {DECISION_SUPPORT_BADGE}", ""]
    if answer.evidence:
        summary = answer.summary if summary is None else summary
        if summary:
            parts += [f"**Summary, verified against the sources:** "
                      f"{' '.join(md_text(s) for s in summary)}", ""]
        parts += [_status_line(answer), card_markdown(answer.evidence), "",
                  sources_markdown(answer)]
    else:
        parts.append(quoted_md(answer.text))
    if answer.declined and answer.decline_reason:
        parts += ["", f"_Reason: {md_text(answer.decline_reason)}_"]
    parts += ["", f"> {md_text(answer.notice)}"]
    return "\n".join(parts)


def _status_line(answer: Answer) -> str:
    """The revision warning the API put at the head of the text (drafts, superseded)."""
    first = answer.text.split("\n", 1)[0]
    return f"⚠️ {md_text(first)}\n" if first.startswith("Not the effective revision") else ""


def card_markdown(lines: list[EvidenceLine]) -> str:
    """The evidence card: the headline in bold, then its support; consecutive rows of one
    table become a Markdown table (every cell inert), steps and sentences stay lines."""
    out = ["**From the documents:**", ""]
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.kind == "row" and line.header and len(line.header) == len(line.cells):
            rows = [line]
            while (i + 1 < len(lines) and lines[i + 1].kind == "row"
                   and lines[i + 1].header == line.header
                   and len(lines[i + 1].cells) == len(line.header)):
                i += 1
                rows.append(lines[i])
            out += [_table_md(rows), ""]
        else:
            text = f"{md_text(_unbulleted(line.text))} \\[{line.n}\\]"
            out += [f"**{text}**" if line.headline else f"- {text}", ""]
        i += 1
    return "\n".join(out).rstrip()


def sources_markdown(answer: Answer) -> str:
    """What each [n] of the card is: document, revision, section (inert text)."""
    return "\n".join(f"\\[{c.n}\\] {md_text(c.doc_id)} rev {md_text(c.revision)}, "
                     f"{md_text(c.section or c.title)}  " for c in answer.citations)


def _unbulleted(text: str) -> str:
    """A bullet's own marker goes: the card lists its lines itself (step numbers stay)."""
    return text[2:] if text[:2] in ("- ", "* ", "• ") else text


def _table_md(rows: list[EvidenceLine]) -> str:
    def cells(values: list[str]) -> str:
        return "| " + " | ".join(md_text(v) for v in values) + " |"

    header = cells(rows[0].header + ["source"])
    rule = "|" + "---|" * (len(rows[0].header) + 1)
    body = [cells(r.cells + [f"[{r.n}]"]) for r in rows]
    return "\n".join([header, rule, *body])


def streaming_markdown(sentences: list[str]) -> str:
    """The verified sentences shown so far, while the answer is still being written."""
    return " ".join(md_text(s) for s in sentences) + " …"


def error_markdown(message: str) -> str:
    """A message for the user (see ui.errors) as inert Markdown, with a warning sign."""
    return f"⚠️ {md_text(message)}"


def _short(text: str, limit: int = 600) -> str:
    """At most `limit` characters; line breaks are kept (steps and table rows stay readable)."""
    text = "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def citation_card_html(c: Citation) -> str:
    """One citation as a card: doc id, title, revision, section (page), verbatim quote."""
    page = f", page {c.page}" if c.page else ""
    status = "" if c.status == "effective" else f' <span class="badge">{html.escape(c.status)}</span>'
    return (f'<div class="citation-card" data-chunk="{html.escape(c.chunk_id)}">'
            f'<div class="card-head">[{c.n}] <b>{html.escape(c.doc_id)}</b> rev '
            f'{html.escape(c.revision)}{status} — {html.escape(c.title)}</div>'
            f'<div class="card-section">§ {html.escape(c.section or "—")}{page}</div>'
            f'<blockquote>{quote_html(_short(c.quote))}</blockquote></div>')


def quote_html(text: str) -> str:
    """A verbatim passage as HTML: its table lines become a table (every cell escaped, the
    rule line dropped), all other lines escaped text. Nothing the document wrote is markup."""
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("|"):
            out.append(html.escape(lines[i]) + ("\n" if i + 1 < len(lines) else ""))
            i += 1
            continue
        rows: list[str] = []
        while i < len(lines) and lines[i].lstrip().startswith("|"):
            cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
            is_rule = all(set(c) <= set(":- ") for c in cells)
            header = i + 1 < len(lines) and _is_rule_line(lines[i + 1]) and not rows
            if not is_rule:
                tag = "th" if header else "td"
                rows.append("<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells)
                            + "</tr>")
            i += 1
        out.append(f'<table class="quote-table">{"".join(rows)}</table>')
    return "".join(out)


def _is_rule_line(line: str) -> bool:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    return line.lstrip().startswith("|") and all(c and set(c) <= set(":- ") for c in cells)


def source_view_html(view: SourceView) -> str:
    """The passage highlighted inside its section, with the document's identity on top."""
    page = f" · page {view.page}" if view.page else ""
    note = ('<div class="source-note">Names of people are replaced by placeholders for your '
            'role.</div>' if view.redacted else "")
    return (f'<div class="source-viewer" id="source-view-{html.escape(view.chunk_id)}">'
            f'<div class="source-head"><b>{html.escape(view.doc_id)}</b> rev '
            f'{html.escape(view.revision)} ({html.escape(view.status)}) — '
            f'{html.escape(view.title)}</div>'
            f'<div class="card-section">§ {html.escape(view.section or "—")}{page}</div>{note}'
            f'<div class="source-text">{html.escape(view.before)}'
            f'<mark class="cited-passage">{html.escape(view.passage)}</mark>'
            f'{html.escape(view.after)}</div></div>')


def text_check_html(result: TextCheck) -> str:
    """A checked text: a verdict line, then each sentence with its verdict, the reason when it
    is not supported, and the passage it was judged against (document, revision, section and
    the verbatim text). Everything from the user or a document is escaped."""
    total = len(result.sentences)
    failed = sum(not s.supported for s in result.sentences)
    if total and not failed:
        verdict = (f'<span class="badge badge-verified">✔ All {total} sentence'
                   f'{"s" if total != 1 else ""} supported by the documents</span>')
    else:
        verdict = (f'<span class="badge badge-declined">✖ {failed} of {total} sentence'
                   f'{"s" if total != 1 else ""} not supported</span>')
    against = (f' <span class="card-section">checked against {html.escape(result.doc)}</span>'
               if result.doc else "")
    parts = [f'<div class="check-result"><div class="check-verdict">{verdict} '
             f'{DECISION_SUPPORT_BADGE}{against}</div>']
    for n, s in enumerate(result.sentences, start=1):
        mark = ('<span class="badge badge-verified">✔ supported</span>' if s.supported else
                '<span class="badge badge-declined">✖ not supported</span>')
        kind = "check-supported" if s.supported else "check-unsupported"
        parts.append(f'<div class="check-sentence {kind}" data-sentence="{n}">'
                     f'<div class="check-head">{n}. {mark} {html.escape(s.text)}</div>')
        if not s.supported:
            parts.append(f'<div class="check-reason">Reason: {html.escape(s.reason)}</div>')
        if s.doc and s.passage is not None:
            label = "Cited passage" if s.supported else "Closest passage"
            parts.append(f'<div class="card-section">{label}: <b>{html.escape(s.doc)}</b> rev '
                         f'{html.escape(s.revision or "")} — § {html.escape(s.section or "—")}'
                         f'</div><blockquote>{quote_html(_short(s.passage))}</blockquote>')
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def deviations_markdown(matches, role: str) -> str:
    if not matches:
        return f"No deviation reports visible to the role **{md_text(role)}** match."
    parts = []
    for m in matches:
        parts.append(f"### {md_text(m.doc_id)} — {md_text(m.title)}\n"
                     f"**Root cause**\n\n{md_text(_short(m.root_cause))}\n\n"
                     f"**CAPA**\n\n{md_text(_short(m.capa, 1200))}\n")
    return "\n".join(parts)


CSS = """
/* Shop-floor tablet (1024x768) first: large touch targets, readable type. */
button, .gr-button { min-height: 48px; font-size: 1.05rem; }
input, textarea, select { font-size: 1.05rem !important; }
.badge { display: inline-block; padding: 2px 8px; margin: 2px 4px 2px 0; border-radius: 6px;
         font-size: 0.9rem; font-weight: 600; background: #e5e7eb; color: #111827; }
.badge-verified { background: #dcfce7; color: #14532d; }
.badge-quoted { background: #fef9c3; color: #713f12; }
.badge-declined { background: #fee2e2; color: #7f1d1d; }
.badge-support { background: #dbeafe; color: #1e3a8a; }
.citation-card { border: 1px solid #d1d5db; border-radius: 8px; padding: 8px 10px; margin: 6px 0; }
.citation-card blockquote { margin: 6px 0 0 0; padding-left: 8px; border-left: 3px solid #9ca3af;
                            white-space: pre-wrap; }
.quote-table { border-collapse: collapse; margin: 4px 0; white-space: normal; font-size: 0.95em; }
.quote-table td, .quote-table th { border: 1px solid #d1d5db; padding: 2px 6px; }
.card-section { color: #4b5563; font-size: 0.92rem; }
.source-text { white-space: pre-wrap; max-height: 520px; overflow-y: auto; font-size: 0.98rem;
               border: 1px solid #e5e7eb; padding: 8px; border-radius: 6px; }
.cited-passage { background: #fde68a; }
.source-note { color: #7c2d12; font-size: 0.9rem; }
.check-sentence { border: 1px solid #d1d5db; border-left-width: 6px; border-radius: 8px;
                  padding: 8px 10px; margin: 6px 0; }
.check-supported { border-left-color: #16a34a; } .check-unsupported { border-left-color: #dc2626; }
.check-reason { color: #7f1d1d; font-weight: 600; font-size: 0.95rem; margin: 4px 0; }
.check-sentence blockquote { margin: 6px 0 0 0; padding-left: 8px; border-left: 3px solid #9ca3af;
                             white-space: pre-wrap; }
.status-current { background: #dcfce7; } .status-due { background: #fef9c3; }
.status-overdue, .status-retraining_needed { background: #fee2e2; }
.status-never_trained { background: #e5e7eb; }
"""
