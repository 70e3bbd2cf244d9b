"""Admin tab: upload documents, the document list, the audit trail (filter, verify, export),
users and roles, the configured models and the latest evaluation report."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import gradio as gr

from copilot import Copilot
from guardrails import AUDIT_ACTIONS, ROLES

from .ask_tab import EXPECTED_ERRORS
from .identity import Identity

DOC_HEADERS = ["doc id", "title", "type", "revision", "status", "effective", "chunks", "access"]
INGEST_HEADERS = ["file", "result", "doc id", "revision", "chunks", "reason"]
AUDIT_HEADERS = ["seq", "time (UTC)", "user", "role", "action", "details"]
USER_HEADERS = ["name", "role", "disabled", "updated"]


def documents_table(copilot: Copilot) -> list[list]:
    return [[d.doc_id, d.title, d.doc_type, d.revision, d.status, d.effective_date, n,
             ", ".join(d.access)] for d, n in copilot.kb.documents()]


def _date(text: str, name: str) -> datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise gr.Error(f"{name}: {text!r} is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM)")


def build(copilot: Copilot, identity: Identity, role) -> list[tuple]:
    def admin(request, demo_role):
        return identity.require(request, demo_role, "admin")

    with gr.Tab("Documents"):
        files = gr.File(label="Upload documents (md, txt, pdf, docx, html)", file_count="multiple",
                        type="filepath", elem_id="upload")
        ingest_button = gr.Button("Ingest uploaded files", variant="primary", elem_id="ingest")
        ingest_result = gr.Dataframe(headers=INGEST_HEADERS, label="Result per file",
                                     interactive=False, elem_id="ingest-result")
        refresh = gr.Button("Refresh document list", elem_id="refresh-docs")
        docs = gr.Dataframe(headers=DOC_HEADERS, label="Indexed documents", interactive=False,
                            elem_id="documents")

    with gr.Tab("Audit trail"):
        with gr.Row():
            who = gr.Textbox(label="User", scale=1)
            action = gr.Dropdown(["any", *AUDIT_ACTIONS], value="any", label="Action", scale=1)
            start = gr.Textbox(label="From (UTC, YYYY-MM-DD)", scale=1)
            end = gr.Textbox(label="To (UTC, exclusive)", scale=1)
        with gr.Row():
            show = gr.Button("Show records", variant="primary", elem_id="audit-show")
            verify = gr.Button("Verify chain", elem_id="audit-verify")
            export = gr.Button("Export CSV", elem_id="audit-export")
        verdict = gr.Markdown(elem_id="audit-verdict")
        exported = gr.File(label="Export", interactive=False)
        records = gr.Dataframe(headers=AUDIT_HEADERS, interactive=False, wrap=True,
                               elem_id="audit-records",
                               column_widths=["6%", "22%", "10%", "10%", "10%", "42%"])

    with gr.Tab("Users"):
        users = gr.Dataframe(headers=USER_HEADERS, interactive=False, elem_id="users")
        with gr.Row():
            new_name = gr.Textbox(label="User name")
            new_role = gr.Dropdown(list(ROLES), value="operator", label="Role")
            new_password = gr.Textbox(label="Initial password (min. 8)", type="password")
        with gr.Row():
            add_user = gr.Button("Add user", variant="primary")
            set_role = gr.Button("Set role")
            disable = gr.Button("Disable")
        users_status = gr.Markdown()

    with gr.Tab("Models & evaluation"):
        models = gr.Markdown(elem_id="models")
        report = gr.Markdown(elem_id="eval-report")
        plots = gr.Gallery(label="Evaluation plots", columns=2, height=360)

    # -- handlers ------------------------------------------------------------------------
    def ingest(paths, demo_role, request: gr.Request, progress=gr.Progress()):
        user = admin(request, demo_role)
        if not paths:
            raise gr.Error("Choose files to upload first.")
        # Uploads are kept in the home folder: the catalog points to its sources, and Gradio's
        # temporary copies are cleaned up behind its back.
        target = copilot.settings.home_dir / "uploads"
        target.mkdir(parents=True, exist_ok=True)
        kept = []
        for p in paths:
            destination = target / Path(p).name
            shutil.copyfile(p, destination)
            kept.append(destination)
        done = []

        def on_file(result):
            done.append(result)
            progress((len(done), len(kept)), desc=f"ingested {Path(result.path).name}")

        progress((0, len(kept)), desc="ingesting")
        try:
            result = copilot.ingest(kept, on_file=on_file, user=user)
        except EXPECTED_ERRORS as exc:
            raise gr.Error(str(exc))
        rows = [[Path(r.path).name, r.status, r.doc_id, r.revision, r.chunks, r.reason]
                for r in result.files]
        return rows, documents_table(copilot)

    def list_documents(demo_role, request: gr.Request):
        admin(request, demo_role)
        return documents_table(copilot)

    def show_records(user_name, action_name, since, until, demo_role, request: gr.Request):
        admin(request, demo_role)
        found = copilot.audit.records(_date(since, "From"), _date(until, "To"),
                                      user=(user_name or "").strip() or None,
                                      action=None if action_name == "any" else action_name,
                                      limit=500, newest_first=True)
        return [[r.seq, r.ts, r.user, r.role, r.action, _summary(r.details)] for r in found]

    def verify_chain(demo_role, request: gr.Request):
        admin(request, demo_role)
        result = copilot.audit.verify()
        if result.ok:
            return f"✔ **Audit trail intact**: {result.records} records, chain and checkpoint verified."
        return f"✖ **Audit trail BROKEN** at record {result.first_bad_seq}: {result.reason}"

    def export_csv(since, until, demo_role, request: gr.Request):
        user = admin(request, demo_role)
        first, last = _date(since, "From"), _date(until, "To")
        text = copilot.audit.export(first, last, fmt="csv")
        copilot.audit.append(user.name, user.role, "export",
                             {"from": str(first), "to": str(last), "format": "csv"})
        out = Path(tempfile.mkdtemp(prefix="audit-export-")) / "audit-trail.csv"
        out.write_text(text, encoding="utf-8")
        return str(out)

    def list_users(demo_role, request: gr.Request):
        admin(request, demo_role)
        return [[a.name, a.role, a.disabled, a.updated] for a in copilot.accounts.store.list()]

    def change_user(kind: str):
        def change(name, new, password, demo_role, request: gr.Request):
            user = admin(request, demo_role)
            try:
                if kind == "add":
                    copilot.accounts.add_user(user, name, new, password)
                    message = f"Added {name} as {new}."
                elif kind == "role":
                    copilot.accounts.set_role(user, name, new)
                    message = f"{name} is now {new}."
                else:
                    copilot.accounts.disable(user, name)
                    message = f"{name} is disabled."
            except EXPECTED_ERRORS as exc:
                return gr.skip(), f"⚠️ {exc}", gr.skip()
            return list_users(demo_role, request), message, ""
        return change

    def show_models(demo_role, request: gr.Request):
        admin(request, demo_role)
        return _models_markdown(copilot), *_latest_report(copilot)

    ingest_button.click(ingest, [files, role], [ingest_result, docs])
    refresh.click(list_documents, [role], docs)
    show.click(show_records, [who, action, start, end, role], records)
    verify.click(verify_chain, [role], verdict)
    export.click(export_csv, [start, end, role], exported)
    for button, kind in ((add_user, "add"), (set_role, "role"), (disable, "disable")):
        button.click(change_user(kind), [new_name, new_role, new_password, role],
                     [users, users_status, new_password], api_name=f"user_{kind}")
    # Filled when an admin opens the app (the app attaches these to its load event).
    return [(list_documents, docs), (list_users, users), (show_models, [models, report, plots])]


def _summary(details: dict) -> str:
    for key in ("question", "query", "name", "paths", "item"):
        if key in details:
            return f"{key}: {str(details[key])[:160]}"
    return str(details)[:160]


def _models_markdown(copilot: Copilot) -> str:
    s = copilot.settings
    backend = copilot.backend_name()
    return "\n".join([
        "### Configured models",
        f"- Chat model: `{backend}` (setting `COPILOT_LLM={s.llm}`)",
        f"- Embedder: `{s.embedder}` (all-MiniLM-L6-v2, bundled)",
        f"- Vector store: {'Chroma server ' + s.chroma_url if s.chroma_url else 'embedded Chroma'}"
        f" (collection `{s.chroma_collection}`)",
        f"- Prompt budget {s.prompt_budget} tokens, top-k {s.top_k}, PII scrubbing "
        f"{'on' if s.scrub_pii else 'OFF'}",
        f"- Grounding thresholds: support similarity {s.min_support_similarity}, coverage "
        f"{s.min_support_coverage}, retrieval support {s.min_retrieval_support}",
    ])


def _latest_report(copilot: Copilot) -> tuple[str, list[str]]:
    folder = copilot.settings.eval_report_dir
    report = folder / "report.md" if folder else None
    if not report or not report.exists():
        return ("### Latest evaluation\nNo evaluation report found"
                f"{' in ' + str(folder) if folder else ''}; run `copilot eval`.", [])
    text = report.read_text(encoding="utf-8")
    return text, [str(p) for p in sorted(report.parent.glob("*.png"))]
