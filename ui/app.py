"""The Gradio app. Only wiring: every decision is made by the `copilot` API."""

from __future__ import annotations

import os

from copilot import Copilot, CopilotError
from guardrails import GuardrailError, demo_user
from knowledge import KnowledgeError

from .render import answer_markdown, citations_markdown

ROLE_CHOICES = ["operator", "supervisor", "qa", "trainer", "admin"]
EXAMPLES = [
    "Autoclave AC-02 stopped with alarm E-22, what now?",
    "What is the exposure time of the porous load cycle P1 on AC-02?",
    "TP-07 shows alarm A-31, what should I check?",
]


def build_app(copilot: Copilot):
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr

    def respond(question: str, history: list[dict], role: str):
        history = list(history or [])
        history.append({"role": "user", "content": question})
        history.append({"role": "assistant", "content": "_Searching the effective documents…_"})
        yield history, ""
        shown: list[str] = []
        try:
            for event in copilot.ask_stream(question, user=demo_user(role)):
                if event.kind == "sentence":
                    shown.append(event.text)
                    history[-1]["content"] = " ".join(shown) + " …"
                    yield history, ""
                elif event.kind == "answer" and event.answer is not None:
                    history[-1]["content"] = answer_markdown(event.answer)
                    yield history, citations_markdown(event.answer)
        except (CopilotError, KnowledgeError, GuardrailError) as exc:
            history[-1]["content"] = f"⚠️ {exc}"
            yield history, ""

    with gr.Blocks(title="Operator Copilot") as app:
        gr.Markdown("## Operator Copilot — Halden Pharma, Kestrel Park (demo plant)")
        with gr.Tab("Ask"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Answers", height=480)
                    question = gr.Textbox(label="Your question", placeholder=EXAMPLES[0],
                                          lines=2, elem_id="question")
                    with gr.Row():
                        ask_button = gr.Button("Ask", variant="primary", elem_id="ask")
                        role = gr.Dropdown(ROLE_CHOICES, value="operator", label="Role (demo mode)")
                    gr.Examples(EXAMPLES, inputs=question)
                with gr.Column(scale=2):
                    sources = gr.Markdown(elem_id="sources")
        ask_button.click(respond, [question, chat, role], [chat, sources]).then(
            lambda: "", None, question)
        question.submit(respond, [question, chat, role], [chat, sources]).then(
            lambda: "", None, question)
    return app


def launch(copilot: Copilot, host: str, port: int) -> None:
    app = build_app(copilot)
    app.queue(default_concurrency_limit=2).launch(server_name=host, server_port=port,
                                                  show_error=True, share=False)
