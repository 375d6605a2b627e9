"""The HTTP routes beside Streamlit (st.App): the session cookie's start and end refuse other sites."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from starlette.applications import Starlette

import services.platform.config
from models.user import AuthSession, User
from server.routes import COOKIE, ROUTES
from services.platform import auth, db
from tests import asyncrun
from tests.factories import Factory
from tests.services.conftest import forget_engine

HOST = "127.0.0.1:8501"
OWN = f"http://{HOST}"


@pytest.fixture
def app_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'routes.db'}"
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", url)
    monkeypatch.setenv("FOLLOWUP_BASE_URL", OWN)
    services.platform.config.get_settings.cache_clear()
    db.migrate()
    yield url
    forget_engine(url)


def call(
    method: str, path: str, *, query: str = "", headers: dict[str, str] | None = None, cookie: str | None = None
) -> tuple[int, dict[str, list[str]], bytes]:
    """One request through the routes as the ASGI server passes it: status, headers, body."""
    raw = [(b"host", HOST.encode())] + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if cookie:
        raw.append((b"cookie", f"{COOKIE}={cookie}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": raw,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8501),
        "root_path": "",
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncrun.run(Starlette(routes=ROUTES)(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    found: dict[str, list[str]] = {}
    for key, value in start["headers"]:
        found.setdefault(key.decode().lower(), []).append(value.decode())
    return start["status"], found, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def _signed_in(email: str = "anna@example.com") -> tuple[User, str]:
    with db.session_scope() as session:
        user = Factory(session).user(email=email)
        return user, auth.redeem_ticket(session=session, ticket=auth.issue_ticket(session=session, user=user))


def _still_signed_in(token: str) -> bool:
    with db.session_scope() as session:
        return auth.user_for_session(session=session, token=token) is not None


def test_signing_out_by_a_post_from_our_own_page_revokes_the_session_and_clears_the_cookie(app_url) -> None:
    _user, token = _signed_in()
    status, headers, _ = call(
        "POST", "/session/end", cookie=token, headers={"Origin": OWN, "Sec-Fetch-Site": "same-origin"}
    )
    assert status == 303 and headers["location"] == ["/"]
    assert any(c.startswith(f"{COOKIE}=") and "Max-Age=0" in c for c in headers["set-cookie"])
    assert not _still_signed_in(token)


def test_a_get_of_the_sign_out_address_signs_nobody_out(app_url) -> None:
    # What an image in user text (`![x](/session/end)`) or a link makes the browser do.
    _user, token = _signed_in()
    status, headers, _ = call("GET", "/session/end", cookie=token, headers={"Sec-Fetch-Site": "same-origin"})
    assert status == 405
    assert "set-cookie" not in headers
    assert _still_signed_in(token)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://other.127.0.0.1:8501"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page?x=1"},
        {"Origin": "http://127.0.0.1:8501.evil.example"},
    ],
)
def test_a_sign_out_posted_by_another_site_is_refused_and_the_session_stays(app_url, headers) -> None:
    _user, token = _signed_in()
    status, found, body = call("POST", "/session/end", cookie=token, headers=headers)
    assert status == 403
    assert "set-cookie" not in found
    assert "其他网站" in body.decode() and "another site" in body.decode()
    assert _still_signed_in(token)


def _ticket(email: str = "bo@example.com") -> str:
    with db.session_scope() as session:
        user = Factory(session).user(email=email)
        return auth.issue_ticket(session=session, user=user)


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin", "Referer": OWN + "/"},
        {"Sec-Fetch-Site": "none"},  # the address typed or pasted
        {},  # no browser page at all
    ],
)
def test_a_ticket_from_our_own_page_opens_the_session(app_url, headers) -> None:
    ticket = _ticket()
    status, found, _ = call("GET", "/session/start", query=f"ticket={ticket}&next=/jobs", headers=headers)
    assert status == 303 and found["location"] == ["/jobs"]
    [cookie] = found["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Referer": "https://evil.example/"},
        {"Origin": "https://evil.example"},
    ],
)
def test_a_ticket_sent_by_another_site_is_refused_and_stays_unspent(app_url, headers) -> None:
    # Login CSRF: another site would sign the visitor in as the attacker.
    ticket = _ticket()
    status, found, _ = call("GET", "/session/start", query=f"ticket={ticket}", headers=headers)
    assert status == 403 and "set-cookie" not in found
    with db.session_scope() as session:
        assert session.exec(select(AuthSession).where(AuthSession.kind == "session")).all() == []
        assert auth.redeem_ticket(session=session, ticket=ticket) is not None
