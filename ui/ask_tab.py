"""Ask tab (streaming chat, citation cards, source viewer, feedback) and the similar-deviations
tab for QA roles."""

from __future__ import annotations

import html
import uuid

import gradio as gr

from copilot import Answer, AnswerEvent, CardEvent, Copilot, CopilotError, SentenceEvent
from copilot.pipeline import MAX_COMMENT_CHARS, MAX_DESCRIPTION_CHARS, MAX_QUESTION_CHARS
from guardrails import GuardrailError
from knowledge import KnowledgeError

from .errors import message_for
from .identity import Identity
from .render import (
    answer_markdown,
    citation_card_html,
    deviations_markdown,
    error_markdown,
    source_view_html,
    streaming_markdown,
)
from .safe_text import md_text

EXPECTED_ERRORS = (CopilotError, KnowledgeError, GuardrailError)
# Handlers here catch every exception: ui.errors decides what the user may read (an internal
# error becomes a generic message with a log reference), so no path or internal state leaks
# through Gradio's own error display.
EXAMPLES = [
    "Autoclave AC-02 stopped with alarm E-22, what now?",
    "What is the exposure time of the porous load cycle P1 on AC-02?",
    "TP-07 shows alarm A-31, what should I check?",
]


def build(copilot: Copilot, identity: Identity, role) -> None:
    home = copilot.settings.home_dir
    session = gr.State(lambda: str(uuid.uuid4()))
    last_answer = gr.State(None)  # the final Answer as a dict: cards and feedback use it
    with gr.Row():
        with gr.Column(scale=3):
            # Messages are built by ui.render with document text made inert; on top of that
            # no LaTeX and no custom tags, and Gradio's HTML sanitizer stays on.
            chat = gr.Chatbot(label="Answers", height=460, elem_id="chat", sanitize_html=True,
                              latex_delimiters=[], allow_tags=False)
            # max_length is enforced by the browser only; the copilot checks the length again.
            question = gr.Textbox(label="Your question", placeholder=EXAMPLES[0], lines=2,
                                  elem_id="question", max_length=MAX_QUESTION_CHARS)
            with gr.Row():
                ask_button = gr.Button("Ask", variant="primary", elem_id="ask")
                new_button = gr.Button("New conversation", elem_id="new")
            gr.Examples(EXAMPLES, inputs=question)
            with gr.Row():
                up = gr.Button("✓ Helpful", elem_id="feedback-up", size="md")
                down = gr.Button("✗ Not helpful", elem_id="feedback-down", size="md")
                comment = gr.Textbox(label="Comment (optional)", lines=1, scale=2,
                                     elem_id="feedback-comment", max_length=MAX_COMMENT_CHARS)
            feedback_status = gr.Markdown(elem_id="feedback-status")
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            viewer = gr.HTML(elem_id="source-viewer")

            @gr.render(inputs=[last_answer, role])
            def citation_cards(answer, demo_role):
                if not answer:
                    gr.Markdown("_Cited passages appear here after an answer._")
                    return
                model = Answer.model_validate(answer)
                if not model.citations and model.closest:
                    gr.Markdown("**Closest sources** (not an answer)")
                for cite in model.citations or model.closest:
                    gr.HTML(citation_card_html(cite))
                    button = gr.Button(f"Open source [{cite.n}] {cite.doc_id}", size="sm",
                                       elem_classes=["open-source"])
                    button.click(_opener(copilot, identity, cite.chunk_id), [role], [viewer])

    def respond(text: str, history: list[dict], demo_role, session_id: str,
                request: gr.Request):
        """Clears the box at once (so the next question can be typed), then streams."""
        history = list(history or [])
        if not (text or "").strip():
            gr.Warning("Type a question first.")
            yield history, gr.skip(), text
            return
        # The user's own words are echoed cut to the question limit (the API refuses longer).
        echo = text if len(text) <= MAX_QUESTION_CHARS else text[:200] + " …"
        history.append({"role": "user", "content": md_text(echo)})
        history.append({"role": "assistant", "content": "_Searching the effective documents…_"})
        yield history, gr.skip(), ""
        shown: list[str] = []
        try:
            user = identity.require(request, demo_role, "ask")
            card = None
            for event in copilot.chat_stream(session_id, text, user=user):
                if isinstance(event, CardEvent):
                    # The documents' answer, at once; a verified summary may follow above it.
                    card = event.answer
                    history[-1]["content"] = answer_markdown(card)
                    yield history, card.model_dump(mode="json"), gr.skip()
                elif isinstance(event, SentenceEvent):
                    shown.append(event.text)
                    history[-1]["content"] = (answer_markdown(card, summary=shown) if card
                                              else streaming_markdown(shown))
                    yield history, gr.skip(), gr.skip()
                elif isinstance(event, AnswerEvent):
                    history[-1]["content"] = answer_markdown(event.answer)
                    yield history, event.answer.model_dump(mode="json"), gr.skip()
        except Exception as exc:  # noqa: BLE001 - see EXPECTED_ERRORS
            history[-1]["content"] = error_markdown(message_for(exc, home, "ask"))
            yield history, None, gr.skip()

    def new_conversation(old_session):
        if old_session:
            copilot.end_conversation(old_session)
        return [], None, str(uuid.uuid4()), "", ""

    def send_feedback(helpful: bool):
        def send(answer, note: str, demo_role, request: gr.Request):
            if not answer:
                return "Ask a question first; feedback is about an answer.", note
            try:
                user = identity.require(request, demo_role, "ask")
                copilot.feedback(user, answer["question"], answer["status"], helpful, note or "")
            except Exception as exc:  # noqa: BLE001 - see EXPECTED_ERRORS
                return error_markdown(message_for(exc, home, "feedback")), note
            return ("Thank you: feedback recorded in the audit trail "
                    f"({'helpful' if helpful else 'not helpful'})."), ""
        return send

    ask_button.click(respond, [question, chat, role, session], [chat, last_answer, question],
                     api_name="ask")
    question.submit(respond, [question, chat, role, session], [chat, last_answer, question],
                    api_visibility="private")
    new_button.click(new_conversation, session,
                     [chat, last_answer, session, viewer, feedback_status])
    up.click(send_feedback(True), [last_answer, comment, role], [feedback_status, comment],
             api_name="feedback_helpful")
    down.click(send_feedback(False), [last_answer, comment, role], [feedback_status, comment],
               api_name="feedback_not_helpful")


def _opener(copilot: Copilot, identity: Identity, chunk_id: str):
    def open_source(demo_role, request: gr.Request) -> str:
        try:
            user = identity.user(request, demo_role)
            return source_view_html(copilot.source_view(chunk_id, user=user))
        except Exception as exc:  # noqa: BLE001 - see EXPECTED_ERRORS
            message = message_for(exc, copilot.settings.home_dir, "source view")
            return f"<p>⚠️ {html.escape(message)}</p>"
    return open_source


def build_deviations(copilot: Copilot, identity: Identity, role) -> None:
    description = gr.Textbox(label="Describe the event", lines=2, elem_id="deviation",
                             max_length=MAX_DESCRIPTION_CHARS)
    button = gr.Button("Find similar deviations", elem_id="find-deviations")
    results = gr.Markdown(elem_id="deviation-results")

    def find(text: str, demo_role, request: gr.Request) -> str:
        try:
            user = identity.require(request, demo_role, "deviations")
            return deviations_markdown(copilot.similar_deviations(text, user=user), user.role)
        except Exception as exc:  # noqa: BLE001 - see EXPECTED_ERRORS
            return error_markdown(message_for(exc, copilot.settings.home_dir, "deviations"))

    button.click(find, [description, role], results, api_name="similar_deviations")
