"""Training tabs. Learner: my modules and status, due reviews, taking a quiz with immediate
feedback that shows the cited source, my history. Trainer: build a module from a document,
review and approve its items, the training matrix with status colours and a CSV export,
knowledge gaps.

Every handler passes the logged-in user to the training service, which filters modules, items,
records and gaps by the user's role: a hidden dropdown entry is not a control, the service is.

Stems, options, reasons and ids come from documents and uploads: in Markdown they pass through
`md_text` (review F9). Errors reach the user through ui.errors (F16), and the matrix export is
saved by the browser, never served as a file (F14).
"""

from __future__ import annotations

import csv
import html
import io
import random
import re
import time

import gradio as gr
import pandas as pd

from copilot import Copilot
from copilot.training import QuizItem
from copilot.training.csv_safe import csv_row
from guardrails import User

from .downloads import save_as_js
from .errors import message_for, shown_as_gr_error
from .identity import Identity
from .render import error_markdown
from .safe_text import md_text

LETTERS = "ABCDEFGH"
QUIZ_LENGTH = 10
MATRIX_HEADERS = ["user", "role", "document", "title", "state", "effective rev", "trained rev",
                  "last passed", "due"]
MATRIX_EXPORT_NAME = "training-matrix.csv"
REVIEWS_SHOWN = 10
REJECTS_SHOWN = 10
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


def _inline(text: object) -> str:
    """Document text for one Markdown list item: on one line, and inert."""
    return md_text(" ".join(str(text).split()))


def ordering_options_markdown(item: QuizItem) -> str:
    """The steps of an ordering item as a list, each step shown as the literal text it is."""
    return "\n".join(f"- {_inline(o)}" for o in _options(item))


def due_reviews_markdown(queue: list[QuizItem]) -> str:
    return f"**Reviews due today:** {len(queue)} item(s)" + "".join(
        f"\n- {_inline(i.stem)} ({_inline(f'{i.doc_id} rev {i.revision}')})"
        for i in queue[:REVIEWS_SHOWN])


def build_result_markdown(result) -> str:
    """What building a module gave: counts, then the first rejected items and why."""
    lines = [f"**Module {_inline(result.module_id)}** (rev {_inline(result.revision)}): "
             f"{len(result.items)} items passed validation, {len(result.rejected)} rejected "
             f"({result.pass_rate:.0%} passed). Items are drafts until approved."]
    lines += [f"- rejected: {_inline(r.item.stem[:100])} — {_inline(r.reason)}"
              for r in result.rejected[:REJECTS_SHOWN]]
    return "\n".join(lines)


def matrix_csv_text(rows) -> str:
    """The training matrix as CSV text. Names and titles are user-chosen: never formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MATRIX_HEADERS)
    for r in rows:
        writer.writerow(csv_row([r.user, r.role, r.doc_id, r.title, r.state, r.effective_revision,
                                 r.trained_revision, r.last_passed, r.due_date]))
    return buffer.getvalue()


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
    home = copilot.settings.home_dir
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
            fields: list[gr.Textbox | gr.Radio] = []
            for n, item in enumerate(parsed, start=1):
                if item.type in ("numeric", "ordering"):
                    if item.type == "ordering":
                        gr.Markdown(ordering_options_markdown(item))
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
                except Exception as exc:  # noqa: BLE001 - ui.errors decides what is shown
                    # An HTML target: the safe message is escaped for HTML, not Markdown.
                    return f"<p>⚠️ {html.escape(message_for(exc, home, 'grade'))}</p>"
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
                due_reviews_markdown(queue),
                [[r.at[:10], r.module_id, r.revision, r.training_type,
                  "" if r.score is None else f"{r.score:.0%}", "yes" if r.passed else "no"]
                 for r in reversed(results)],
                gr.Dropdown(choices=choices, value=choices[0][1] if choices else None))

    def start_quiz(module_id, demo_role, request: gr.Request):
        user = identity.require(request, demo_role, "training")
        if not module_id:
            raise gr.Error("Choose a module first.")
        items = copilot.training.questions(module_id, user)
        # A quiz is a sample of the module (a fresh one each attempt), in document order.
        if len(items) > QUIZ_LENGTH:
            picked = set(random.sample(range(len(items)), QUIZ_LENGTH))
            items = [item for n, item in enumerate(items) if n in picked]
        return [i.model_dump(mode="json") for i in items], time.time(), ""

    # Failures become a toast with the message the user may see (ui.errors).
    refresh.click(shown_as_gr_error(my_page, home), [role], [status, due, history, module])
    start.click(shown_as_gr_error(start_quiz, home), [module, role], [quiz, started, result])
    return [(my_page, [status, due, history, module])]


def build_trainer(copilot: Copilot, identity: Identity, role) -> list[tuple]:
    home = copilot.settings.home_dir
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
        exported = gr.Markdown(elem_id="matrix-export-status")
        # The CSV's way to the browser (ui/downloads.py); it lists every user's training.
        export_data = gr.Textbox(visible=False, elem_id="matrix-export-data")
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
        except Exception as exc:  # noqa: BLE001 - ui.errors decides what is shown
            return error_markdown(message_for(exc, home, "build_module")), gr.skip()
        modules = _module_choices(copilot, user, approved_only=False)
        return build_result_markdown(result), gr.Dropdown(choices=modules,
                                                          value=result.module_id)

    def module_items(module_id, demo_role, request: gr.Request):
        user = trainer(request, demo_role)
        if not module_id:
            return []
        items = copilot.training.items(module_id, user)
        return [[i.item_id, i.type, i.stem + ("\n" + " | ".join(_options(i)) if i.options else ""),
                 i.key, i.status, f"{i.doc_id} rev {i.revision} § {i.section}"]
                for i in items]

    def approve_all(module_id, demo_role, request: gr.Request):
        user = trainer(request, demo_role)
        try:
            count = copilot.training.approve(module_id, user)
            shown_items = module_items(module_id, demo_role, request)
        except Exception as exc:  # noqa: BLE001 - ui.errors decides what is shown
            return error_markdown(message_for(exc, home, "approve_all")), gr.skip()
        return (f"Approved {count} item(s) of {md_text(module_id)} as {md_text(user.name)} "
                f"({md_text(user.role)})."), shown_items

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
        return (matrix_csv_text(rows),
                f"Exported the training matrix as {MATRIX_EXPORT_NAME} ({len(rows)} rows).")

    def gap_rows(demo_role, request: gr.Request):
        user = trainer(request, demo_role)
        return [[g.doc_id, g.section, g.questions, g.unanswered, g.failed_items,
                 round(g.score, 2), (g.example_questions or [""])[0]]
                for g in copilot.training.gaps(user)]

    # Handlers that show no message of their own fail with a toast the user may read.
    build.click(shown_as_gr_error(build_module, home), [document, section, role],
                [built, module])
    module.change(shown_as_gr_error(module_items, home), [module, role], items)
    approve.click(shown_as_gr_error(approve_all, home), [module, role], [approved, items])
    show_matrix.click(shown_as_gr_error(matrix_rows, home), [role], matrix)
    export.click(shown_as_gr_error(matrix_csv, home), [role], [export_data, exported],
                 api_name="matrix_csv").success(None, [export_data], [export_data],
                                                js=save_as_js(MATRIX_EXPORT_NAME))
    show_gaps.click(shown_as_gr_error(gap_rows, home), [role], gaps)
    return [(page, [document, module])]
