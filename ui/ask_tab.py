"""Ask tab (streaming chat, citation cards, source viewer, feedback) and the similar-deviations
tab for QA roles."""

from __future__ import annotations

import uuid

import gradio as gr

from copilot import Answer, Copilot, CopilotError
from guardrails import GuardrailError
from knowledge import KnowledgeError

from .identity import Identity
from .render import answer_markdown, citation_card_html, deviations_markdown, source_view_html

EXPECTED_ERRORS = (CopilotError, KnowledgeError, GuardrailError)
EXAMPLES = [
    "Autoclave AC-02 stopped with alarm E-22, what now?",
    "What is the exposure time of the porous load cycle P1 on AC-02?",
    "TP-07 shows alarm A-31, what should I check?",
]


def build(copilot: Copilot, identity: Identity, role) -> None:
    session = gr.State(lambda: str(uuid.uuid4()))
    last_answer = gr.State(None)  # the final Answer as a dict: cards and feedback use it
    with gr.Row():
        with gr.Column(scale=3):
            chat = gr.Chatbot(label="Answers", height=460, elem_id="chat")
            question = gr.Textbox(label="Your question", placeholder=EXAMPLES[0], lines=2,
                                  elem_id="question")
            with gr.Row():
                ask_button = gr.Button("Ask", variant="primary", elem_id="ask")
                new_button = gr.Button("New conversation", elem_id="new")
            gr.Examples(EXAMPLES, inputs=question)
            with gr.Row():
                up = gr.Button("✓ Helpful", elem_id="feedback-up", size="md")
                down = gr.Button("✗ Not helpful", elem_id="feedback-down", size="md")
                comment = gr.Textbox(label="Comment (optional)", lines=1, scale=2,
                                     elem_id="feedback-comment")
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
        history.append({"role": "user", "content": text})
        history.append({"role": "assistant", "content": "_Searching the effective documents…_"})
        yield history, gr.skip(), ""
        shown: list[str] = []
        try:
            user = identity.require(request, demo_role, "ask")
            for event in copilot.chat_stream(session_id, text, user=user):
                if event.kind == "sentence":
                    shown.append(event.text)
                    history[-1]["content"] = " ".join(shown) + " …"
                    yield history, gr.skip(), gr.skip()
                elif event.kind == "answer" and event.answer is not None:
                    history[-1]["content"] = answer_markdown(event.answer)
                    yield history, event.answer.model_dump(mode="json"), gr.skip()
        except EXPECTED_ERRORS as exc:
            history[-1]["content"] = f"⚠️ {exc}"
            yield history, None, gr.skip()

    def new_conversation():
        return [], None, str(uuid.uuid4()), "", ""

    def send_feedback(helpful: bool):
        def send(answer, note: str, demo_role, request: gr.Request):
            if not answer:
                return "Ask a question first; feedback is about an answer.", note
            try:
                user = identity.require(request, demo_role, "ask")
                copilot.feedback(user, answer["question"], answer["status"], helpful, note or "")
            except EXPECTED_ERRORS as exc:
                return f"⚠️ {exc}", note
            return ("Thank you: feedback recorded in the audit trail "
                    f"({'helpful' if helpful else 'not helpful'})."), ""
        return send

    ask_button.click(respond, [question, chat, role, session], [chat, last_answer, question],
                     api_name="ask")
    question.submit(respond, [question, chat, role, session], [chat, last_answer, question],
                    api_name=False)
    new_button.click(new_conversation, None, [chat, last_answer, session, viewer, feedback_status])
    up.click(send_feedback(True), [last_answer, comment, role], [feedback_status, comment],
             api_name="feedback_helpful")
    down.click(send_feedback(False), [last_answer, comment, role], [feedback_status, comment],
               api_name="feedback_not_helpful")


def _opener(copilot: Copilot, identity: Identity, chunk_id: str):
    def open_source(demo_role, request: gr.Request) -> str:
        try:
            user = identity.user(request, demo_role)
            return source_view_html(copilot.source_view(chunk_id, user=user))
        except EXPECTED_ERRORS as exc:
            return f"<p>⚠️ {exc}</p>"
    return open_source


def build_deviations(copilot: Copilot, identity: Identity, role) -> None:
    description = gr.Textbox(label="Describe the event", lines=2, elem_id="deviation")
    button = gr.Button("Find similar deviations", elem_id="find-deviations")
    results = gr.Markdown(elem_id="deviation-results")

    def find(text: str, demo_role, request: gr.Request) -> str:
        try:
            user = identity.require(request, demo_role, "deviations")
            return deviations_markdown(copilot.similar_deviations(text, user=user), user.role)
        except EXPECTED_ERRORS as exc:
            return f"⚠️ {exc}"

    button.click(find, [description, role], results, api_name="similar_deviations")
