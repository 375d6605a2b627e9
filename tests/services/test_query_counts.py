"""No N+1: every page's services issue as many SQL statements at 1,000 seeded candidates as at 100.

The pages, roles and filters are bench.pages' (the services each page calls on a normal render); a count that
grows with the data is a query per row somewhere. The only difference allowed is a statement the smaller
database never needed because the one before it found nothing (no '王' among a manager's 100 candidates).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.pages import CASES, Case, Sample, StatementCounter, pick_sample, render
from models.common import clock, utcnow
from models.user import User
from services.platform import policy
from services.platform.db import make_engine, migrate, session_scope
from services.platform.demo import DEMO_USERS, seed_demo
from services.platform.errors import DomainError

SIZES = (100, 1000)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, tuple[Engine, Sample]]]:
    """One SQLite database per size, seeded at the same frozen moment, with the ids each page clicks through to."""
    clock.freeze(utcnow())
    engines = {}
    try:
        for size in SIZES:
            url = f"sqlite:///{Path(tmp_path_factory.mktemp('counts')) / f'{size}.db'}"
            migrate(url)
            engine = make_engine(url)
            with session_scope(engine) as session:
                seed_demo(session=session, candidates=size, seed=3)
            engines[size] = (engine, _extremes(engine, pick_sample(engine), most=size == SIZES[-1]))
        yield engines
    finally:
        clock.freeze(None)
        for engine, _ in engines.values():
            engine.dispose()


def _extremes(engine: Engine, sample: Sample, *, most: bool) -> Sample:
    """The candidate and the debrief with the fewest rows behind them in the small database and the most in the
    large one, so that a query per application or per round shows as a difference."""
    order = "DESC" if most else "ASC"
    manager, recruiter = sample.users["manager@example.com"].id, sample.users["recruiter@example.com"].id
    interviewer = sample.users["interviewer@example.com"].id
    with engine.connect() as conn:
        sample.candidate_id = conn.execute(
            text(
                "SELECT c.id FROM candidate c JOIN application a ON a.candidate_id = c.id "
                "JOIN job j ON j.id = a.job_id "
                f"WHERE c.owner_id = :r AND j.hiring_manager_id = :m ORDER BY (SELECT count(*) FROM application b "
                f"WHERE b.candidate_id = c.id) {order}, c.id LIMIT 1"
            ),
            {"r": recruiter, "m": manager},
        ).scalar()
        sample.debrief_id = conn.execute(
            text(
                "SELECT s.application_id FROM scorecard s JOIN application a ON a.id = s.application_id "
                "JOIN job j ON j.id = a.job_id WHERE j.hiring_manager_id = :m AND s.interviewer_id = :u "
                "AND s.status = 'submitted' ORDER BY (SELECT count(DISTINCT i.round_id) FROM interview i "
                f"WHERE i.application_id = a.id) {order}, a.id LIMIT 1"
            ),
            {"m": manager, "u": interviewer},
        ).scalar()
    return sample


def _opens(email: str, page: str) -> bool:
    """Whether the demo account `email` has `page` in its navigation (its roles as seed-demo gives them)."""
    roles = next(roles for address, _name, roles, _lang in DEMO_USERS if address == email)
    return any(rule.path == f"pages/{page}.py" for rule in policy.pages_for(User(email=email, name="", roles=roles)))


def _renders() -> list:
    # (It found a query per application in the candidate detail's audit trail and per round in the debrief.)
    return [
        pytest.param(case, email, id=f"{case.page}-{case.label or 'page'}-{email.split('@')[0]}")
        for case in CASES
        for email in case.roles
        if _opens(email, case.page)
    ]


def statements(engine: Engine, sample: Sample, case: Case, email: str) -> list[str] | None:
    """The statements one render issues (after a warm-up render), or None where the role may not open the page."""
    user = sample.users[email]
    if not any(rule.path == f"pages/{case.page}.py" for rule in policy.pages_for(user)):
        return None
    calls = case.calls(sample, user)
    try:
        render(engine, calls, user)
    except DomainError:
        return None
    counter = StatementCounter(engine)
    try:
        render(engine, calls, user)
    finally:
        counter.stop()
    return counter.statements


@pytest.mark.parametrize(("case", "email"), _renders())
def test_a_page_issues_as_many_statements_at_1000_candidates_as_at_100(seeded, case: Case, email: str) -> None:
    counts = {size: statements(engine, sample, case, email) for size, (engine, sample) in seeded.items()}
    if counts[SIZES[0]] is None and counts[SIZES[1]] is None:
        pytest.skip("the role does not use this page")
    if None in counts.values():
        pytest.skip(f"refused at one size only: {counts}")  # the sample differs, not the queries
    small, large = Counter(map(shape, counts[SIZES[0]])), Counter(map(shape, counts[SIZES[1]]))
    # A query per row repeats one statement more often as rows grow. A statement run once at 1,000 and not at
    # all at 100 is a query skipped on an empty result (nothing to look up), not one per row.
    grown = {sql: (small[sql], n) for sql, n in large.items() if n > max(small[sql], 1)}
    assert not grown, f"statements repeated more at {SIZES[1]} candidates than at {SIZES[0]}: {grown}"
    assert sum(large.values()) - sum(small.values()) <= len(set(large) - set(small)), (
        f"{sum(small.values())} statements at {SIZES[0]}, {sum(large.values())} at {SIZES[1]}"
    )


def shape(sql: str) -> str:
    """A statement with its IN lists folded, so that a lookup of 3 ids and one of 30 compare equal."""
    return re.sub(r"\((\?, )*\?\)", "(?)", " ".join(sql.split()))
