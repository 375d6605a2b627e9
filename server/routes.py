"""Routes that set and clear the HttpOnly session cookie, and a health check."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from services.platform import auth
from services.platform.config import get_settings
from services.platform.db import database_problem, database_ready, session_scope
from services.platform.i18n import t

COOKIE = "followup_session"
log = logging.getLogger("followup.server")


def _safe_next(value: str | None) -> str:
    """Only same-site relative paths, so the redirect cannot be pointed elsewhere."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _own_hosts(request: Request) -> set[str]:
    """The host[:port] names this app answers under: the request's Host, a proxy's, the configured address."""
    hosts = {urlsplit(get_settings().base_url).netloc.lower()}
    for header in ("host", "x-forwarded-host"):
        value = request.headers.get(header)
        if value:
            hosts.add(value.split(",")[0].strip().lower())
    return hosts


def same_site_request(request: Request) -> bool:
    """False for a request another site made the browser send (a link, an image, a form on another page).

    Browsers say so in Sec-Fetch-Site; older ones still send Origin (on POST) or Referer, which must name one
    of our own hosts. A request with none of these comes from no browser page, so no other site caused it.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    for header in ("origin", "referer"):
        value = request.headers.get(header)
        if value:
            return value != "null" and urlsplit(value).netloc.lower() in _own_hosts(request)
    return True


def _refused() -> Response:
    text = "\n".join(t("err.cross_site", lang) for lang in ("zh", "en"))
    return PlainTextResponse(text, status_code=403, headers={"Cache-Control": "no-store"})


def start_session(request: Request) -> Response:
    """Exchange a one-time sign-in ticket for the session cookie, then go back into the app.

    Refused when another site sent the browser here: it could sign a person in as someone else (login CSRF).
    """
    if not same_site_request(request):
        return _refused()
    ticket = request.query_params.get("ticket", "")
    response = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    with session_scope() as session:
        token = auth.redeem_ticket(session=session, ticket=ticket)
    if token:
        response.set_cookie(
            COOKIE,
            token,
            max_age=get_settings().session_days * 86400,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def end_session(request: Request) -> Response:
    """Revoke this browser's session and clear its cookie: a POST from our own pages only, so an image or a
    link elsewhere (`![x](/session/end)`) cannot sign anyone out."""
    if not same_site_request(request):
        return _refused()
    with session_scope() as session:
        auth.end_session(session=session, token=request.cookies.get(COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    response.headers["Cache-Control"] = "no-store"
    return response


def health(_request: Request) -> Response:
    """200 when the database answers and is migrated (for a load balancer or a deployment check), else 503."""
    if not database_ready():
        return JSONResponse(
            {"status": "error", "error": "database unavailable"},
            status_code=503,
            headers={"Retry-After": "10", "Cache-Control": "no-store"},
        )
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


def _database_unavailable(problem: str) -> Response:
    key = "dbdown.read_only" if problem == "read_only" else "dbdown.unavailable"
    text = "\n".join(t(key, lang) for lang in ("zh", "en"))
    return PlainTextResponse(text, status_code=503, headers={"Retry-After": "10", "Cache-Control": "no-store"})


def _guarded(route: Callable[[Request], Response]) -> Callable[[Request], Response]:  # a Starlette endpoint
    """A route whose database outage is a 503 with a message in both languages, not a traceback."""

    def endpoint(request: Request) -> Response:
        try:
            return route(request)
        except Exception as exc:
            problem = database_problem(exc)
            if problem is None:
                raise
            log.warning("database %s during %s (%s)", problem, request.url.path, type(exc).__name__)
            return _database_unavailable(problem)

    endpoint.__doc__ = route.__doc__
    return endpoint


ROUTES = [
    Route("/session/start", _guarded(start_session), methods=["GET"]),
    Route("/session/end", _guarded(end_session), methods=["POST"]),
    Route("/healthz", health, methods=["GET"]),
]
