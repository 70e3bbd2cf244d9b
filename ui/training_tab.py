"""Training tabs: placeholder until the training API lands (replaced in this session)."""

from __future__ import annotations

import gradio as gr


def build_learner(copilot, identity, role) -> None:
    gr.Markdown("Training modules")


def build_trainer(copilot, identity, role) -> None:
    gr.Markdown("Trainer")
