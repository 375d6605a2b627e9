"""Routes that set and clear the HttpOnly session cookie, and a health check."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from services import auth
from services.config import get_settings
from services.db import migrate, session_scope

COOKIE = "followup_session"


def _safe_next(value: str | None) -> str:
    """Only same-site relative paths, so the redirect cannot be pointed elsewhere."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def start_session(request: Request) -> Response:
    """Exchange a one-time sign-in ticket for the session cookie, then go back into the app."""
    ticket = request.query_params.get("ticket", "")
    response = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    with session_scope() as session:
        token = auth.redeem_ticket(session=session, ticket=ticket)
    if token:
        response.set_cookie(
            COOKIE, token, max_age=get_settings().session_days * 86400, path="/", httponly=True,
            samesite="lax", secure=request.url.scheme == "https",
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def end_session(request: Request) -> Response:
    """Revoke this browser's session and clear its cookie."""
    with session_scope() as session:
        auth.end_session(session=session, token=request.cookies.get(COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    response.headers["Cache-Control"] = "no-store"
    return response


def health(_request: Request) -> Response:
    """200 when the database answers (for a load balancer or a deployment check)."""
    from sqlalchemy import text

    try:
        migrate()
        with session_scope() as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception as exc:  # any database failure means unhealthy
        return JSONResponse({"status": "error", "error": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok"})


ROUTES = [
    Route("/session/start", start_session, methods=["GET"]),
    Route("/session/end", end_session, methods=["GET"]),
    Route("/healthz", health, methods=["GET"]),
]
