"""Exports saved by the user's own browser, never served as files (review F14).

Gradio serves any file it returns (gr.File, a returned path) from its cache to every logged-in
user who has the URL, and the audit trail or the training matrix hold other users' data. So an
export handler returns the CSV as text into a hidden Textbox, and `save_as_js` runs in the
browser after it: it saves the text as a download from a blob URL and clears the Textbox, so
nothing stays on the server or in the page.
"""

from __future__ import annotations

import json
import re

# A file name for the browser's "save" dialogue: plain characters, nothing to escape.
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def save_as_js(file_name: str, mime: str = "text/csv;charset=utf-8") -> str:
    """The `js=` of a `.success()` step whose input and output is the hidden Textbox holding
    the export: the browser saves the text as `file_name` and the Textbox is emptied."""
    if not _FILE_NAME.fullmatch(file_name):
        raise ValueError(f"not a plain file name: {file_name!r}")
    return f"""(text) => {{
  if (text) {{
    const url = URL.createObjectURL(new Blob([text], {{type: {json.dumps(mime)}}}));
    const link = document.createElement("a");
    link.href = url;
    link.download = {json.dumps(file_name)};
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }}
  return "";
}}"""
