"""Answer -> Markdown for the chat. Pure functions, testable without Gradio."""

from __future__ import annotations

import html

from copilot import Answer

BADGES = {
    "grounded": "✅ **Verified against cited sources**",
    "quoted": "📄 **Quoted from source** (model wording not verified)",
    "declined": "⛔ **Declined: not found in the effective documents**",
}


def answer_markdown(answer: Answer) -> str:
    parts = [BADGES[answer.status], "", answer.text]
    if answer.declined and answer.decline_reason:
        parts += ["", f"_Reason: {answer.decline_reason}_"]
    parts += ["", f"> ⚠️ {answer.notice}"]
    return "\n".join(parts)


def citations_markdown(answer: Answer) -> str:
    listed = answer.citations or answer.closest
    if not listed:
        return ""
    title = "### Sources" if answer.citations else "### Closest sources"
    cards = [title]
    for c in listed:
        quote = " ".join(c.quote.split())
        if len(quote) > 600:
            quote = quote[:600] + " …"
        page = f", page {c.page}" if c.page else ""
        cards.append(
            f"**[{c.n}] {html.escape(c.doc_id)} rev {html.escape(c.revision)}** "
            f"({html.escape(c.status)}) — {html.escape(c.title)}  \n"
            f"_§ {html.escape(c.section or '—')}{page}_\n\n> {html.escape(quote)}\n")
    return "\n".join(cards)


def deviations_markdown(matches, role: str) -> str:
    if not matches:
        return f"No deviation reports visible to the role **{html.escape(role)}** match."
    parts = []
    for m in matches:
        parts.append(f"### {html.escape(m.doc_id)} — {html.escape(m.title)}\n"
                     f"{html.escape(' '.join(m.root_cause.split())[:600])}\n\n"
                     f"**CAPA**\n\n{m.capa}\n")
    return "\n".join(parts)
