""""Check a text" tab (QA and admin): paste a drafted work instruction or deviation narrative,
optionally pick a document, and see per sentence whether the controlled documents support it,
why not, and the passage it was judged against.

Only wiring: `Copilot.check_text` checks the role again, applies document access and writes
the audit record; `identity.require` refuses (and audits) a role without the tab first. The
document list is filled per user when the tab is opened; a document id sent by an API client
that is not on it is still checked by the API, which refuses one the role may not see.
"""

from __future__ import annotations

import html

import gradio as gr

from copilot import Copilot
from copilot.pipeline import MAX_DESCRIPTION_CHARS
from copilot.text_check import checkable_documents

from .errors import message_for
from .identity import Identity
from .render import text_check_html

ANY_DOCUMENT = ("Any effective document (best matching passage)", "")
PLACEHOLDER = ("Paste a drafted work instruction or deviation narrative. Cite documents inline "
               "as [SOP-STE-001], pick one below, or leave both and each sentence is checked "
               "against the best matching passage.")


def build(copilot: Copilot, identity: Identity, role) -> list[tuple]:
    home = copilot.settings.home_dir
    gr.Markdown("Each sentence is checked with the answers' verifier: quantities with their "
                "units, codes, negations, quantifiers, who does what.")
    # max_length is enforced by the browser only; the copilot checks the length again.
    text = gr.Textbox(label="Text to check", lines=8, elem_id="check-text",
                      placeholder=PLACEHOLDER, max_length=MAX_DESCRIPTION_CHARS)
    with gr.Row():
        # The choices are the user's own (filled when the tab opens); a custom value is
        # allowed so that the API, not the dropdown, is what refuses a document.
        doc = gr.Dropdown([ANY_DOCUMENT], value="", label="Check against", scale=3,
                          elem_id="check-doc", allow_custom_value=True)
        button = gr.Button("Check", variant="primary", elem_id="check-run", scale=1)
    result = gr.HTML(elem_id="check-result")

    def check(draft: str, doc_id: str | None, demo_role, request: gr.Request) -> str:
        try:
            user = identity.require(request, demo_role, "check", target=doc_id or None)
            return text_check_html(copilot.check_text(draft, user, doc=doc_id or None))
        except Exception as exc:  # noqa: BLE001 - ui.errors decides what the user may read
            return f'<p class="check-error">⚠️ {html.escape(message_for(exc, home, "check"))}</p>'

    def documents(demo_role, request: gr.Request):
        user = identity.require(request, demo_role, "check")
        choices = [ANY_DOCUMENT] + [(f"{d.doc_id} rev {d.revision} — {d.title}", d.doc_id)
                                    for d in checkable_documents(copilot.kb, user.role)]
        return gr.Dropdown(choices=choices, value="")

    button.click(check, [text, doc, role], result, api_name="check_text")
    # Filled when the tab is opened (the app runs these on its select event).
    return [(documents, doc)]
