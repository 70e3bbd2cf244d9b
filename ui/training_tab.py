"""Training tabs. Learner: my modules and status, due reviews, taking a quiz with immediate
feedback that shows the cited source, my history. Trainer: build a module from a document,
review and approve its items, the training matrix with status colours and a CSV export,
knowledge gaps.

Every handler passes the logged-in user to the training service, which filters modules, items,
records and gaps by the user's role: a hidden dropdown entry is not a control, the service is.
"""

from __future__ import annotations

import csv
import html
import random
import re
import tempfile
import time
from pathlib import Path

import gradio as gr
import pandas as pd

from copilot import Copilot
from copilot.training import QuizItem
from copilot.training.csv_safe import csv_row
from guardrails import User

from .ask_tab import EXPECTED_ERRORS
from .identity import Identity

LETTERS = "ABCDEFGH"
QUIZ_LENGTH = 10
MATRIX_HEADERS = ["user", "role", "document", "title", "state", "effective rev", "trained rev",
                  "last passed", "due"]
STATE_COLOURS = {"current": "#dcfce7", "due": "#fef9c3", "overdue": "#fee2e2",
                 "retraining_needed": "#fecaca", "never_trained": "#e5e7eb"}


def _module_choices(copilot: Copilot, user: User, approved_only: bool) -> list[tuple[str, str]]:
    choices = []
    for m in copilot.training.modules(user):
        if approved_only and not m.counts.get("approved"):
            continue
        flag = " — under review" if m.needs_review else ""
        choices.append((f"{m.module_id} rev {m.revision} — {m.title}{flag}", m.module_id))
    return choices


def _item_label(n: int, item: QuizItem) -> str:
    hint = {"ordering": " (type the letters in order, e.g. C,A,B)",
            "numeric": " (type the value)"}.get(item.type, "")
    return f"{n}. {item.stem}{hint}"


def _options(item: QuizItem) -> list[str]:
    if item.type == "true_false" and not item.options:
        return ["True", "False"]
    return [f"{LETTERS[i]}) {o}" for i, o in enumerate(item.options)]


def _answer_value(item: QuizItem, shown: str | None) -> str:
    """What the learner picked, as the grader expects it: an option's letter, the text of a
    true/false choice, or what was typed."""
    if shown is None:
        return ""
    picked = re.match(r"^([A-H])\) (.*)$", str(shown), re.DOTALL)
    if picked and item.type != "ordering" and (item.options or item.type == "true_false"):
        return picked.group(2) if item.type == "true_false" else picked.group(1)
    return str(shown)


def _feedback_html(items: list[QuizItem], result) -> str:
    verdict = "PASSED" if result.passed else "NOT PASSED"
    colour = "#14532d" if result.passed else "#7f1d1d"
    parts = [f'<h3 style="color:{colour}" id="quiz-result">{verdict}: {result.n_correct} of '
             f'{result.n_items} correct ({result.score:.0%}, pass mark {result.pass_mark:.0%})'
             f'</h3>']
    by_id = {i.item_id: i for i in items}
    for n, graded in enumerate(result.answers, start=1):
        item = by_id[graded.item_id]
        mark = "✔ correct" if graded.correct else f"✖ the answer is: {html.escape(item.key)}"
        parts.append(f'<div class="citation-card"><b>{n}. {html.escape(item.stem)}</b><br>'
                     f'Your answer: {html.escape(graded.answer or "—")} — {mark}'
                     f'<div class="card-section">Source: {html.escape(item.doc_id)} rev '
                     f'{html.escape(item.revision)}, § {html.escape(item.section)}</div>'
                     f'<blockquote>{html.escape(item.quote)}</blockquote></div>')
    return "\n".join(parts)


def build_learner(copilot: Copilot, identity: Identity, role) -> list[tuple]:
    quiz = gr.State([])  # the items of the quiz being taken, as dicts
    started = gr.State(0.0)
    with gr.Tab("My training"):
        refresh = gr.Button("Refresh", elem_id="training-refresh")
        status = gr.Dataframe(headers=["document", "title", "state", "trained rev", "due"],
                              label="My required documents", interactive=False,
                              elem_id="my-status")
        due = gr.Markdown(elem_id="due-reviews")
        history = gr.Dataframe(headers=["date", "module", "revision", "type", "score", "passed"],
                               label="My history", interactive=False, elem_id="my-history")
    with gr.Tab("Take a quiz"):
        module = gr.Dropdown(label="Module", choices=[], elem_id="quiz-module")
        start = gr.Button("Start quiz", variant="primary", elem_id="quiz-start")
        result = gr.HTML(elem_id="quiz-feedback")

        @gr.render(inputs=[quiz])
        def quiz_form(items):
            if not items:
                gr.Markdown("_Choose a module and start the quiz._")
                return
            parsed = [QuizItem.model_validate(i) for i in items]
            fields = []
            for n, item in enumerate(parsed, start=1):
                if item.type in ("numeric", "ordering"):
                    if item.type == "ordering":
                        gr.Markdown("\n".join(f"- {o}" for o in _options(item)))
                    fields.append(gr.Textbox(label=_item_label(n, item),
                                             elem_classes=["quiz-item"]))
                else:
                    fields.append(gr.Radio(_options(item), label=_item_label(n, item),
                                           elem_classes=["quiz-item"]))
            submit = gr.Button("Submit answers", variant="primary", elem_id="quiz-submit")

            # The request comes first: Gradio injects it by position, and the answers vary in number.
            def grade(request: gr.Request, module_id, t0, demo_role, *answers):
                try:
                    user = identity.require(request, demo_role, "training")
                    per_item = (time.time() - t0) / max(len(parsed), 1) if t0 else None
                    given = {i.item_id: _answer_value(i, a) for i, a in zip(parsed, answers)}
                    outcome = copilot.training.submit(
                        user, module_id, given,
                        response_seconds={i.item_id: per_item for i in parsed} if per_item else None)
                except EXPECTED_ERRORS as exc:
                    return f"<p>⚠️ {html.escape(str(exc))}</p>"
                return _feedback_html(parsed, outcome)

            submit.click(grade, [module, started, role, *fields], [result])

    def my_page(demo_role, request: gr.Request):
        user = identity.require(request, demo_role, "training")
        rows = copilot.training.matrix([user], viewer=user)
        queue = copilot.training.review_queue(user)
        results = copilot.training.history(user)
        choices = _module_choices(copilot, user, approved_only=True)
        return ([[r.doc_id, r.title, r.state.replace("_", " "), r.trained_revision, r.due_date]
                 for r in rows],
                f"**Reviews due today:** {len(queue)} item(s)" + "".join(
                    f"\n- {html.escape(i.stem)} ({i.doc_id} rev {i.revision})" for i in queue[:10]),
                [[r.at[:10], r.module_id, r.revision, r.training_type,
                  "" if r.score is None else f"{r.score:.0%}", "yes" if r.passed else "no"]
                 for r in reversed(results)],
                gr.Dropdown(choices=choices, value=choices[0][1] if choices else None))

    def start_quiz(module_id, demo_role, request: gr.Request):
        try:
            user = identity.require(request, demo_role, "training")
            if not module_id:
                raise gr.Error("Choose a module first.")
            items = copilot.training.questions(module_id, user)
        except EXPECTED_ERRORS as exc:
            raise gr.Error(str(exc))
        # A quiz is a sample of the module (a fresh one each attempt), in document order.
        if len(items) > QUIZ_LENGTH:
            picked = set(random.sample(range(len(items)), QUIZ_LENGTH))
            items = [item for n, item in enumerate(items) if n in picked]
        return [i.model_dump(mode="json") for i in items], time.time(), ""

    refresh.click(my_page, [role], [status, due, history, module])
    start.click(start_quiz, [module, role], [quiz, started, result])
    return [(my_page, [status, due, history, module])]


def build_trainer(copilot: Copilot, identity: Identity, role) -> list[tuple]:
    with gr.Tab("Build & approve"):
        with gr.Row():
            document = gr.Dropdown(label="SOP", choices=[], elem_id="build-doc")
            section = gr.Textbox(label="Section (optional, e.g. 6.4)", elem_id="build-section")
        build = gr.Button("Build module", variant="primary", elem_id="build-module")
        built = gr.Markdown(elem_id="build-result")
        module = gr.Dropdown(label="Module", choices=[], elem_id="review-module")
        items = gr.Dataframe(headers=["id", "type", "question", "key", "status", "source"],
                             interactive=False, wrap=True, elem_id="review-items",
                             column_widths=["12%", "10%", "44%", "14%", "8%", "12%"])
        approve = gr.Button("Approve all draft items", elem_id="approve-module")
        approved = gr.Markdown(elem_id="approve-result")
    with gr.Tab("Training matrix"):
        show_matrix = gr.Button("Show matrix", variant="primary", elem_id="matrix-show")
        matrix = gr.Dataframe(headers=MATRIX_HEADERS, interactive=False, elem_id="matrix")
        export = gr.Button("Export CSV", elem_id="matrix-export")
        exported = gr.File(label="Matrix CSV", interactive=False)
    with gr.Tab("Knowledge gaps"):
        show_gaps = gr.Button("Rank knowledge gaps", elem_id="gaps-show")
        gaps = gr.Dataframe(headers=["document", "section", "questions", "unanswered",
                                     "failed items", "score", "example question"],
                            interactive=False, wrap=True, elem_id="gaps")

    def trainer(request, demo_role):
        return identity.require(request, demo_role, "trainer")

    def page(demo_role, request: gr.Request):
        user = trainer(request, demo_role)
        sops = copilot.training.trainable_documents(user, doc_types=("sop",))
        modules = _module_choices(copilot, user, approved_only=False)
        return gr.Dropdown(choices=sops, value=sops[0] if sops else None), \
            gr.Dropdown(choices=modules, value=modules[0][1] if modules else None)

    def build_module(doc_id, section_name, demo_role, request: gr.Request):
        user = trainer(request, demo_role)
        try:
            result = copilot.training.build_module(doc_id, section_name or None, user=user)
        except EXPECTED_ERRORS as exc:
            return f"⚠️ {exc}", gr.skip()
        lines = [f"**Module {result.module_id}** (rev {result.revision}): {len(result.items)} "
                 f"items passed validation, {len(result.rejected)} rejected "
                 f"({result.pass_rate:.0%} passed). Items are drafts until approved."]
        lines += [f"- rejected: {html.escape(r.item.stem[:100])} — {html.escape(r.reason)}"
                  for r in result.rejected[:10]]
        modules = _module_choices(copilot, user, approved_only=False)
        return "\n".join(lines), gr.Dropdown(choices=modules, value=result.module_id)

    def module_items(module_id, demo_role, request: gr.Request):
        user = trainer(request, demo_role)
        if not module_id:
            return []
        try:
            items = copilot.training.items(module_id, user)
        except EXPECTED_ERRORS as exc:
            raise gr.Error(str(exc))
        return [[i.item_id, i.type, i.stem + ("\n" + " | ".join(_options(i)) if i.options else ""),
                 i.key, i.status, f"{i.doc_id} rev {i.revision} § {i.section}"]
                for i in items]

    def approve_all(module_id, demo_role, request: gr.Request):
        user = trainer(request, demo_role)
        try:
            count = copilot.training.approve(module_id, user)
        except EXPECTED_ERRORS as exc:
            return f"⚠️ {exc}", gr.skip()
        return (f"Approved {count} item(s) of {module_id} as {user.name} ({user.role}).",
                module_items(module_id, demo_role, request))

    def matrix_rows(demo_role, request: gr.Request):
        user = trainer(request, demo_role)
        rows = copilot.training.matrix(copilot.training_users(), viewer=user)
        frame = pd.DataFrame([[r.user, r.role, r.doc_id, r.title, r.state, r.effective_revision,
                               r.trained_revision, r.last_passed, r.due_date] for r in rows],
                             columns=MATRIX_HEADERS)
        return frame.style.map(lambda state: f"background-color: {STATE_COLOURS.get(state, '')}",
                               subset=["state"])

    def matrix_csv(demo_role, request: gr.Request):
        user = trainer(request, demo_role)
        rows = copilot.training.matrix(copilot.training_users(), viewer=user)
        out = Path(tempfile.mkdtemp(prefix="training-matrix-")) / "training-matrix.csv"
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(MATRIX_HEADERS)
            for r in rows:  # names and titles are user-chosen text: never formulas
                writer.writerow(csv_row([r.user, r.role, r.doc_id, r.title, r.state,
                                         r.effective_revision, r.trained_revision,
                                         r.last_passed, r.due_date]))
        return str(out)

    def gap_rows(demo_role, request: gr.Request):
        user = trainer(request, demo_role)
        return [[g.doc_id, g.section, g.questions, g.unanswered, g.failed_items,
                 round(g.score, 2), (g.example_questions or [""])[0]]
                for g in copilot.training.gaps(user)]

    build.click(build_module, [document, section, role], [built, module])
    module.change(module_items, [module, role], items)
    approve.click(approve_all, [module, role], [approved, items])
    show_matrix.click(matrix_rows, [role], matrix)
    export.click(matrix_csv, [role], exported)
    show_gaps.click(gap_rows, [role], gaps)
    return [(page, [document, module])]
