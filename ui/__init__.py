"""Gradio UI: a thin adapter over the `copilot` API. Gradio is imported inside functions."""
