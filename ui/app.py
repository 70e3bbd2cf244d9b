"""The Gradio app. Only wiring: every decision is made by the `copilot` API.

Log-in uses Gradio's own login page (`launch(auth=...)`) against the copilot's accounts, so
the HTTP API behind the page needs the same log-in. Explicit demo mode (`copilot serve
--demo-mode`) replaces it with a role picker and says so on every page.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from copilot import AccessDeniedError, Copilot  # noqa: E402

from . import admin_tab, ask_tab, check_tab, training_tab  # noqa: E402
from .errors import message_for  # noqa: E402
from .identity import TAB_ROLES, Identity  # noqa: E402
from .limits import BodyLimit  # noqa: E402
from .render import CSS, error_markdown  # noqa: E402
from .uploads import MAX_UPLOAD_BYTES  # noqa: E402

TITLE = "Operator Copilot"
log = logging.getLogger(__name__)
# Gradio's cache (uploads before ingest, files handed to the browser) lives in the data home,
# readable by the service account only, not in the world-readable /tmp/gradio (F13, F14).
GRADIO_CACHE_DIR = "gradio-cache"
# Every 10 minutes, cached files older than an hour are deleted: an upload waits that long
# for its "Ingest" click (ingest deletes its files at once), nothing else needs to stay.
DELETE_CACHE = (600, 3600)


def build_app(copilot: Copilot, demo_mode: bool | None = None):
    demo_mode = copilot.settings.demo_mode if demo_mode is None else demo_mode
    identity = Identity(copilot, demo_mode)

    with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE) as app:
        with gr.Row():
            gr.Markdown(f"## {TITLE}")
            who = gr.Markdown(elem_id="who")
            role: gr.Dropdown | gr.State
            if demo_mode:
                role = gr.Dropdown(list(TAB_ROLES["ask"]), value="operator", elem_id="demo-role",
                                   label="Role (DEMO MODE: no login)", scale=0, min_width=220)
            else:
                role = gr.State(None)
                gr.Button("Log out", link="/logout", elem_id="logout", scale=0, min_width=120)
        with gr.Tabs():
            with gr.Tab("Ask", id="ask", elem_id="tab-ask") as tab_ask:
                ask_tab.build(copilot, identity, role)
            with gr.Tab("Similar deviations", id="deviations", elem_id="tab-deviations",
                        visible=False) as tab_dev:
                ask_tab.build_deviations(copilot, identity, role)
            with gr.Tab("Check a text", id="check", elem_id="tab-check",
                        visible=False) as tab_check:
                check_loaders = check_tab.build(copilot, identity, role)
            with gr.Tab("Training", id="training", elem_id="tab-training") as tab_training:
                learner_loaders = training_tab.build_learner(copilot, identity, role)
            with gr.Tab("Trainer", id="trainer", elem_id="tab-trainer",
                        visible=False) as tab_trainer:
                trainer_loaders = training_tab.build_trainer(copilot, identity, role)
            with gr.Tab("Admin", id="admin", elem_id="tab-admin", visible=False) as tab_admin:
                admin_loaders = admin_tab.build(copilot, identity, role)
        tabs = {"ask": tab_ask, "deviations": tab_dev, "check": tab_check,
                "training": tab_training, "trainer": tab_trainer, "admin": tab_admin}

        def show_tabs_for(demo_role, request: gr.Request):
            try:
                user = identity.user(request, demo_role)
            except Exception as exc:  # noqa: BLE001 - a disabled account sees nothing
                message = error_markdown(message_for(exc, copilot.settings.home_dir, "page load"))
                return [message] + [gr.Tab(visible=False) for _ in tabs]
            banner = (f"**{user.name}** · role **{user.role}**"
                      + (" · DEMO MODE" if demo_mode else ""))
            return [banner] + [gr.Tab(visible=user.role in TAB_ROLES[name]) for name in tabs]

        app.load(show_tabs_for, [role], [who, *tabs.values()])
        if demo_mode:
            role.change(show_tabs_for, [role], [who, *tabs.values()])
        # Components inside a hidden tab are mounted only when it is shown, so the admin
        # pages are filled when the tab is opened.
        for tab, loaders in ((tab_admin, admin_loaders), (tab_trainer, trainer_loaders),
                             (tab_training, learner_loaders), (tab_check, check_loaders)):
            for fill, outputs in loaders:
                tab.select(_only_if_allowed(fill, outputs), [role], outputs)
    return app


def _only_if_allowed(fill, outputs):
    """Page fillers run for everyone on load; for roles without the tab they change nothing."""
    count = len(outputs) if isinstance(outputs, list) else 1

    def run(demo_role, request: gr.Request):
        try:
            return fill(demo_role, request)
        except Exception as exc:  # noqa: BLE001 - not allowed (or not logged in): page stays empty
            if not isinstance(exc, AccessDeniedError):
                log.warning("filling the page with %s failed: %r", fill.__name__, exc)
            return gr.skip() if count == 1 else tuple(gr.skip() for _ in range(count))
    return run


def private_gradio_cache(home: Path) -> Path:
    """Point Gradio's cache into the home, mode 0700. Gradio reads GRADIO_TEMP_DIR when the
    app and its components are built, so this runs before `build_app`."""
    folder = Path(home) / GRADIO_CACHE_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)  # mkdir's mode is filtered by the umask, and the folder may be older
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


def launch(copilot: Copilot, host: str, port: int) -> None:
    demo_mode = copilot.settings.demo_mode
    private_gradio_cache(copilot.settings.home_dir)
    identity = Identity(copilot, demo_mode)
    app = build_app(copilot, demo_mode)
    options = identity.launch_options()
    # The login's middleware and the body limit share FastAPI's one middleware list.
    app_kwargs = options.pop("app_kwargs", {})
    app_kwargs["middleware"] = [Middleware(BodyLimit), *app_kwargs.get("middleware", [])]
    # One in-process model generates at a time (the backend holds a lock); a few more
    # workers keep search, source viewer and admin pages responsive meanwhile.
    app.queue(default_concurrency_limit=4).launch(
        # show_error=False: an unexpected exception shows as a bare "Error", never its
        # text; handlers turn the errors a user can act on into messages (ui/errors.py).
        server_name=host, server_port=port, show_error=False, share=False,
        max_file_size=MAX_UPLOAD_BYTES, app_kwargs=app_kwargs,
        **options,  # auth (async, off the event loop) + client address
        auth_message="Operator Copilot — log in with your plant account.",
        css=CSS, theme=gr.themes.Default(text_size="lg"))
