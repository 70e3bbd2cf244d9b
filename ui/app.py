"""The Gradio app. Only wiring: every decision is made by the `copilot` API."""

from __future__ import annotations

import os
import uuid

from copilot import Copilot, CopilotError
from guardrails import GuardrailError, demo_user
from knowledge import KnowledgeError

from .render import answer_markdown, citations_markdown, deviations_markdown

ROLE_CHOICES = ["operator", "supervisor", "qa", "trainer", "admin"]
EXAMPLES = [
    "Autoclave AC-02 stopped with alarm E-22, what now?",
    "What is the exposure time of the porous load cycle P1 on AC-02?",
    "TP-07 shows alarm A-31, what should I check?",
]


def build_app(copilot: Copilot):
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr

    def respond(question: str, history: list[dict], role: str, session_id: str):
        """Clears the box at once (so the next question can be typed), then streams."""
        history = list(history or [])
        if not (question or "").strip():
            gr.Warning("Type a question first.")
            yield history, gr.skip(), question
            return
        history.append({"role": "user", "content": question})
        history.append({"role": "assistant", "content": "_Searching the effective documents…_"})
        yield history, "", ""
        shown: list[str] = []
        try:
            for event in copilot.chat_stream(session_id, question, user=demo_user(role)):
                if event.kind == "sentence":
                    shown.append(event.text)
                    history[-1]["content"] = " ".join(shown) + " …"
                    yield history, gr.skip(), gr.skip()
                elif event.kind == "answer" and event.answer is not None:
                    history[-1]["content"] = answer_markdown(event.answer)
                    yield history, citations_markdown(event.answer), gr.skip()
        except (CopilotError, KnowledgeError, GuardrailError) as exc:
            history[-1]["content"] = f"⚠️ {exc}"
            yield history, "", gr.skip()

    def new_conversation():
        return [], "", str(uuid.uuid4())

    def find_deviations(description: str, role: str) -> str:
        try:
            matches = copilot.similar_deviations(description, user=demo_user(role))
        except (CopilotError, KnowledgeError, GuardrailError) as exc:
            return f"⚠️ {exc}"
        return deviations_markdown(matches, role)

    with gr.Blocks(title="Operator Copilot") as app:
        gr.Markdown("## Operator Copilot — Halden Pharma, Kestrel Park (demo plant)")
        session = gr.State(lambda: str(uuid.uuid4()))
        with gr.Tab("Ask"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Answers", height=480)
                    question = gr.Textbox(label="Your question", placeholder=EXAMPLES[0],
                                          lines=2, elem_id="question")
                    with gr.Row():
                        ask_button = gr.Button("Ask", variant="primary", elem_id="ask")
                        new_button = gr.Button("New conversation", elem_id="new")
                        role = gr.Dropdown(ROLE_CHOICES, value="operator", label="Role (demo mode)")
                    gr.Examples(EXAMPLES, inputs=question)
                with gr.Column(scale=2):
                    sources = gr.Markdown(elem_id="sources")
        with gr.Tab("Similar deviations"):
            description = gr.Textbox(label="Describe the event", lines=2, elem_id="deviation")
            dev_button = gr.Button("Find similar deviations", elem_id="find-deviations")
            dev_results = gr.Markdown(elem_id="deviation-results")
        ask_button.click(respond, [question, chat, role, session], [chat, sources, question])
        question.submit(respond, [question, chat, role, session], [chat, sources, question])
        new_button.click(new_conversation, None, [chat, sources, session])
        dev_button.click(find_deviations, [description, role], dev_results)
    return app


def launch(copilot: Copilot, host: str, port: int) -> None:
    app = build_app(copilot)
    app.queue(default_concurrency_limit=2).launch(server_name=host, server_port=port,
                                                  show_error=True, share=False)
