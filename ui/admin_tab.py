"""Admin tab: upload documents, the document list, the audit trail (filter, verify, export),
users and roles, the configured models and the latest evaluation report."""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from copilot import Copilot
from guardrails import AUDIT_ACTIONS, ROLES
from guardrails.passwords import MAX_PASSWORD_LENGTH
from guardrails.user_store import MAX_NAME_LENGTH
from knowledge import SUPPORTED_SUFFIXES

from . import uploads
from .downloads import save_as_js
from .errors import message_for, scrub_paths, shown_as_gr_error
from .identity import Identity
from .render import error_markdown
from .safe_text import md_text

DOC_HEADERS = ["doc id", "title", "type", "revision", "status", "effective", "chunks", "access"]
INGEST_HEADERS = ["file", "result", "doc id", "revision", "chunks", "reason"]
AUDIT_HEADERS = ["seq", "time (UTC)", "user", "role", "action", "details"]
USER_HEADERS = ["name", "role", "disabled", "locked", "updated"]
DATE_CHARS = 32  # "YYYY-MM-DD HH:MM" with room to spare
EXPORT_NAME = "audit-trail.csv"
# The audit export never becomes a file on the server (review F14; see ui/downloads.py): the
# trail holds every user's questions.
SAVE_EXPORT_JS = save_as_js(EXPORT_NAME)


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
        # Toasts render HTML: the typed text is escaped.
        raise gr.Error(f"{name}: {html.escape(repr(text), quote=False)} is not a date (use "
                       "YYYY-MM-DD or YYYY-MM-DD HH:MM)") from None


def build(copilot: Copilot, identity: Identity, role) -> list[tuple]:
    def admin(request, demo_role):
        return identity.require(request, demo_role, "admin")

    with gr.Tab("Documents"):
        files = gr.File(label=f"Upload documents (md, txt, pdf, docx, html; at most "
                              f"{uploads.MAX_UPLOAD_FILES} files of "
                              f"{uploads.MAX_UPLOAD_BYTES // 2**20} MB)",
                        file_count="multiple", type="filepath", elem_id="upload",
                        file_types=list(SUPPORTED_SUFFIXES))
        ingest_button = gr.Button("Ingest uploaded files", variant="primary", elem_id="ingest")
        ingest_result = gr.Dataframe(headers=INGEST_HEADERS, label="Result per file",
                                     interactive=False, elem_id="ingest-result")
        refresh = gr.Button("Refresh document list", elem_id="refresh-docs")
        docs = gr.Dataframe(headers=DOC_HEADERS, label="Indexed documents", interactive=False,
                            elem_id="documents")

    with gr.Tab("Audit trail"):
        with gr.Row():
            who = gr.Textbox(label="User", scale=1, max_length=MAX_NAME_LENGTH)
            action = gr.Dropdown(["any", *AUDIT_ACTIONS], value="any", label="Action", scale=1)
            start = gr.Textbox(label="From (UTC, YYYY-MM-DD)", scale=1, max_length=DATE_CHARS)
            end = gr.Textbox(label="To (UTC, exclusive)", scale=1, max_length=DATE_CHARS)
        with gr.Row():
            show = gr.Button("Show records", variant="primary", elem_id="audit-show")
            verify = gr.Button("Verify chain", elem_id="audit-verify")
            export = gr.Button("Export CSV", elem_id="audit-export")
        verdict = gr.Markdown(elem_id="audit-verdict")
        export_data = gr.Textbox(visible=False, elem_id="audit-export-data")
        records = gr.Dataframe(headers=AUDIT_HEADERS, interactive=False, wrap=True,
                               elem_id="audit-records",
                               column_widths=["6%", "22%", "10%", "10%", "10%", "42%"])

    with gr.Tab("Users"):
        users = gr.Dataframe(headers=USER_HEADERS, interactive=False, elem_id="users")
        with gr.Row():
            new_name = gr.Textbox(label="User name", max_length=MAX_NAME_LENGTH)
            new_role = gr.Dropdown(list(ROLES), value="operator", label="Role")
            new_password = gr.Textbox(label="Initial password (min. 8)", type="password",
                                      max_length=MAX_PASSWORD_LENGTH)
        with gr.Row():
            add_user = gr.Button("Add user", variant="primary")
            set_role = gr.Button("Set role")
            disable = gr.Button("Disable")
            unlock = gr.Button("Unlock", elem_id="user-unlock")
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
        try:
            uploads.check_batch(paths)
            kept = uploads.store(paths, copilot.settings.uploads_dir)
        except uploads.UploadRefused as exc:
            raise gr.Error(html.escape(str(exc), quote=False)) from exc
        finally:
            uploads.forget_cached(paths, get_upload_folder())
        names = {str(s.path): s.upload_name for s in kept}
        before = _indexed(copilot)
        done = []

        def on_file(result):
            done.append(result)
            progress((len(done), len(kept)), desc=f"ingested {names.get(result.path, '')}")

        progress((0, len(kept)), desc="ingesting")
        try:
            result = copilot.ingest([s.path for s in kept], on_file=on_file, user=user)
        finally:  # on an error too (shown_as_gr_error gives the admin a safe message)
            uploads.discard_unindexed(kept, {d.source for d, _ in copilot.kb.documents()})
        rows = [[names.get(r.path, Path(r.path).name), r.status, r.doc_id, r.revision, r.chunks,
                 scrub_paths(r.reason, home)] for r in result.files]
        # Stored names make a replacement impossible through this page; should a document
        # still drop out of the index, the admin is told, not left to find out.
        for doc_id, revision in sorted(before - _indexed(copilot)):
            rows.append(["", "no longer indexed", doc_id, revision, 0,
                         "this document was replaced or removed by the upload"])
            gr.Warning(html.escape(f"{doc_id} rev {revision} is no longer indexed"))
        return rows, documents_table(copilot), None

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
        return (f"✖ **Audit trail BROKEN** at record {result.first_bad_seq}: "
                f"{md_text(scrub_paths(result.reason, copilot.settings.home_dir))}")

    def export_csv(since, until, demo_role, request: gr.Request):
        user = admin(request, demo_role)
        first, last = _date(since, "From"), _date(until, "To")
        text = copilot.audit.export(first, last, fmt="csv")
        copilot.audit.append(user.name, user.role, "export",
                             {"from": str(first), "to": str(last), "format": "csv"})
        return text, f"Exported the audit trail as {EXPORT_NAME} ({len(text):,} characters)."

    def list_users(demo_role, request: gr.Request):
        admin(request, demo_role)
        return [[a.name, a.role, a.disabled, a.locked, a.updated]
                for a in copilot.accounts.store.list()]

    def change_user(kind: str):
        def change(name, new, password, demo_role, request: gr.Request):
            user = admin(request, demo_role)
            try:
                if kind == "add":
                    copilot.accounts.add_user(user, name, new, password)
                    message = f"Added {md_text(name)} as {md_text(new)}."
                elif kind == "role":
                    copilot.accounts.set_role(user, name, new)
                    message = f"{md_text(name)} is now {md_text(new)}."
                elif kind == "unlock":  # after repeated failed logins (copilot/user_admin.py)
                    copilot.accounts.unlock(user, name)
                    message = f"{md_text(name)} is unlocked."
                else:
                    copilot.accounts.disable(user, name)
                    message = f"{md_text(name)} is disabled."
            except Exception as exc:  # noqa: BLE001 - shown as a generic message, logged
                return (gr.skip(), error_markdown(message_for(exc, copilot.settings.home_dir,
                                                              f"user_{kind}")), gr.skip())
            return list_users(demo_role, request), message, ""
        return change

    def show_models(demo_role, request: gr.Request):
        admin(request, demo_role)
        return _models_markdown(copilot), *_latest_report(copilot)

    home = copilot.settings.home_dir
    ingest_button.click(shown_as_gr_error(ingest, home), [files, role],
                        [ingest_result, docs, files], api_name="ingest")
    refresh.click(shown_as_gr_error(list_documents, home), [role], docs)
    show.click(shown_as_gr_error(show_records, home), [who, action, start, end, role], records)
    verify.click(shown_as_gr_error(verify_chain, home), [role], verdict)
    export.click(shown_as_gr_error(export_csv, home), [start, end, role], [export_data, verdict],
                 api_name="audit_export").success(None, [export_data], [export_data],
                                                  js=SAVE_EXPORT_JS)
    for button, kind in ((add_user, "add"), (set_role, "role"), (disable, "disable"),
                         (unlock, "unlock")):
        button.click(shown_as_gr_error(change_user(kind), home),
                     [new_name, new_role, new_password, role],
                     [users, users_status, new_password], api_name=f"user_{kind}")
    # Filled when an admin opens the app (the app attaches these to its load event).
    return [(list_documents, docs), (list_users, users), (show_models, [models, report, plots])]


def _indexed(copilot: Copilot) -> set[tuple[str, str]]:
    return {(d.doc_id, d.revision) for d, _ in copilot.kb.documents()}


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
