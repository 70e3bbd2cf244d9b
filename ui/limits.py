"""A cap on the size of request bodies (review F7).

Gradio enforces a Textbox's `max_length` only in the browser and has no body limit of its
own: an API client can post megabytes of "question" that are parsed and held in memory before
any handler can refuse them. Uploads are limited separately, per file, by
`launch(max_file_size=...)`, so the upload route is left to that limit.
"""

from __future__ import annotations

# The largest honest event is a question with the chat history Gradio sends along with it (a
# long conversation of quoted answers is a few hundred KB); 2 MB leaves room for that.
MAX_BODY_BYTES = 2 * 1024 * 1024
UPLOAD_PATH_SUFFIX = "/upload"


class BodyLimit:
    """Pure ASGI middleware: 413 for a declared Content-Length over the cap; a body streamed
    without one is counted and cut off (the app then sees a disconnected client)."""

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].endswith(UPLOAD_PATH_SUFFIX):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await _too_large(send, self.max_bytes)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    return {"type": "http.disconnect"}
            return message

        return await self.app(scope, counted, send)


async def _too_large(send, limit: int) -> None:
    body = f"request body over the {limit // 1024} KB limit".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
