"""The request body limit of every service (``WANGGE_MAX_BODY_BYTES``); its 413 is documented
with the other problems (:mod:`wangge.service.responses`).

A body whose ``Content-Length`` is over the limit is refused before any route, dependency or
database work runs; a chunked one (no length) is counted as it streams and refused at the first
chunk past the limit, so a client can never make a service hold more than the limit in memory.
Both answers are the same ``too-large`` problem. Starlette's own ``max_body_size`` is not used:
its answer to an oversized ``Content-Length`` is a plain-text 413 that replaces any response
the app sends, so it could not be problem details.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wangge.service.problems import BodyTooLarge, too_large


class BodyLimit:
    """Pure ASGI middleware that refuses a request body over ``max_bytes`` with a 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await too_large(self.max_bytes, instance=scope["path"])(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            # the app's exception handlers answer it (problems.install_problem_handlers); this
            # is for an app without them
            if started:
                raise
            await too_large(self.max_bytes, instance=scope["path"])(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    """The declared length; None without one, or with one that is not a number (the server
    refuses those, and the body is counted anyway)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
