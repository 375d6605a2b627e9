"""A response header naming the app server that answered, for an operator (and the topology test) behind a proxy."""

from __future__ import annotations

import socket
from typing import Any

from services.platform.config import get_settings

HEADER = b"x-followup-server"


def server_name(scope: dict[str, Any]) -> str:
    """FOLLOWUP_SERVER_NAME, or the host name and the port this server listens on."""
    name = get_settings().server_name
    if name:
        return name
    port = (scope.get("server") or (None, None))[1]
    return f"{socket.gethostname()}:{port}" if port else socket.gethostname()


class ServerNameMiddleware:
    """Adds `X-Followup-Server: <name>` to every HTTP response and WebSocket handshake (Streamlit's own too)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._name: bytes | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self._name is None:
            self._name = server_name(scope).encode("latin-1", "replace")
        name = self._name

        async def send_named(message: dict[str, Any]) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message = {**message, "headers": [*message.get("headers", []), (HEADER, name)]}
            await send(message)

        await self.app(scope, receive, send_named)
