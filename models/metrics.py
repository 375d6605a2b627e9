"""What the Metrics screen reads instead of every application's history: one row of facts per application, kept
fresh from a list of the applications whose history changed (services.metrics.facts).

`ApplicationFact` holds, per application, the moments its funnel steps were reached, as stored times only — what
depends on the clock (an interview ended by now, a plan started by today) is decided when the facts are read, so
the facts never go stale by the passing of time. Only the history behind the steps is folded in (interviews,
panels, scorecards, decisions, stage changes, offers, onboarding plans); what the application row itself holds
(job, stage, owner) is read from it, where it is always current. `InterviewFact`, `ScorecardFact` and `StayFact`
hold the same per interview still on, per submitted scorecard and per ended stay in an active stage; they are
folded in with their application's facts.

`MetricDirty` lists the applications whose facts may be stale: database triggers on those tables add a row on
every insert, delete and change of a column the facts read — on SQLite and PostgreSQL alike, so no code path that
writes can forget it. Its own id orders the rows: what was listed up to an id is folded in and those rows deleted,
and a row added meanwhile (a higher id) stays for the next fold.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import DDL, Column, Index, Text, event
from sqlmodel import Field, SQLModel


class ApplicationFact(SQLModel, table=True):
    # No key to application: an application deleted (erasure) leaves its facts to the next fold, which drops them.
    application_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    first_end: datetime | None = None  # the earliest end of its interviews still on (status scheduled)
    owed_end: datetime | None = None  # ... of those with a panel seat still without a submitted scorecard
    carded_end: datetime | None = None  # the latest end of those with a submitted scorecard
    last_card: datetime | None = None  # the last scorecard submitted on them
    decision_at: datetime | None = None  # its first final decision: recorded (offer, reject) or by moving the stage
    offer_at: datetime | None = None  # its first offer sent
    accepted_at: datetime | None = None  # its first offer accepted (when answered), or its first move to hired
    plan_start: date | None = None  # its onboarding plan's start date, unless cancelled
    passed_at: datetime | None = None  # its plan's outcome passed, or its first move to probation passed
    # Its last stage change (the latest, the last made of those at the same moment) and its latest rejection's
    # reason: where and why it left, if it is at an exit now.
    last_move_at: datetime | None = None
    last_from_stage: str | None = Field(default=None, max_length=20)
    last_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reject_reason: str | None = Field(default=None, max_length=40)
    final_kind: str | None = Field(default=None, max_length=12)  # its latest final decision recorded (offer, reject)


class InterviewFact(SQLModel, table=True):
    """An interview still on (status scheduled) and the first word that reached its candidate at or after its end
    (a contact reached or replied, a mail sent): the feedback clock's answer, stored as times."""

    __table_args__ = (Index("ix_interviewfact_application_end", "application_id", "ends_at"),)

    interview_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    application_id: int
    ends_at: datetime
    first_word_at: datetime | None = None
    hours: float | None = None  # from its end to that word (None: no word yet)


class ScorecardFact(SQLModel, table=True):
    """A scorecard submitted on an interview still on, with its interview's end and round, its recommendation as
    yes (1), no (0) or none (NULL), and its weighted score (services.metrics.calibration.card_score; NULL without
    a rating) — the score of the criteria in force when the facts were folded in (a criterion's change lists every
    application of its round)."""

    __table_args__ = (Index("ix_scorecardfact_application", "application_id"),)

    scorecard_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    application_id: int
    interview_id: int
    interviewer_id: int
    round_id: int
    ends_at: datetime
    positive: int | None = None
    score: float | None = None


class StayFact(SQLModel, table=True):
    """A stay in an active stage that has ended: from the stage change into it (its id) to the next change."""

    __table_args__ = (
        Index("ix_stayfact_application", "application_id"),
        Index("ix_stayfact_stage_hours", "stage", "hours"),
    )

    change_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    application_id: int
    stage: str = Field(max_length=20)
    left_at: datetime
    hours: float


class MetricDirty(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    application_id: int


# The tables behind the facts: the applications a row concerns (SQL, of the row NEW or OLD), and the columns whose
# change matters (none: only its insert and delete).
WATCHED: dict[str, tuple[str, tuple[str, ...]]] = {
    "application": ("SELECT {row}.id", ("candidate_id", "job_id")),  # created or deleted: its facts made or dropped
    "interview": ("SELECT {row}.application_id", ("application_id", "status", "ends_at", "round_id")),
    "interviewpanelist": (
        "SELECT application_id FROM interview WHERE id = {row}.interview_id",
        ("interview_id", "user_id"),
    ),
    "scorecard": (
        "SELECT {row}.application_id",
        ("application_id", "interview_id", "interviewer_id", "status", "submitted_at", "recommendation"),
    ),
    "scorecardrating": (
        "SELECT application_id FROM scorecard WHERE id = {row}.scorecard_id",
        ("scorecard_id", "criterion_id", "rating"),
    ),
    # A criterion changed: the scores of every card of its round.
    "criterion": (
        "SELECT application_id FROM interview WHERE round_id = {row}.round_id",
        ("round_id", "job_id", "is_active", "weight"),
    ),
    "decision": ("SELECT {row}.application_id", ("application_id", "kind", "at", "reason_code")),
    "stagechange": ("SELECT {row}.application_id", ("application_id", "from_stage", "to_stage", "at", "reason")),
    "offer": ("SELECT {row}.application_id", ("application_id", "status", "sent_at", "answered_at")),
    "onboardingplan": ("SELECT {row}.application_id", ("application_id", "status", "start_date", "outcome_at")),
    # Word to the candidate: every application of theirs (the first word after each interview).
    "contact": (
        "SELECT id FROM application WHERE candidate_id = {row}.candidate_id",
        ("candidate_id", "outcome", "at"),
    ),
    "outboxmessage": (
        "SELECT id FROM application WHERE candidate_id = {row}.candidate_id",
        ("candidate_id", "status", "sent_at"),
    ),
}


def trigger_statements(dialect: str) -> list[str]:
    """The statements that create the triggers listing changed applications in `metricdirty` (SQLite or
    PostgreSQL). Migration 0020 keeps its own copy of what they were when it was written."""
    statements = []
    for table, (apps_of, columns) in WATCHED.items():
        mark_new = f"INSERT INTO metricdirty (application_id) {apps_of.format(row='NEW')};"
        mark_old = f"INSERT INTO metricdirty (application_id) {apps_of.format(row='OLD')};"
        if dialect == "sqlite":
            events = [("ins", "INSERT", mark_new), ("del", "DELETE", mark_old)]
            if columns:
                events.append(("upd", f"UPDATE OF {', '.join(columns)}", mark_new + " " + mark_old))
            for suffix, event_sql, body in events:
                statements.append(
                    f'CREATE TRIGGER metricdirty_{table}_{suffix} AFTER {event_sql} ON "{table}" BEGIN {body} END'
                )
        elif dialect == "postgresql":
            statements.append(
                f"CREATE OR REPLACE FUNCTION metricdirty_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF TG_OP <> 'DELETE' THEN {mark_new} END IF; "
                f"IF TG_OP <> 'INSERT' THEN {mark_old} END IF; "
                "RETURN NULL; END $$"
            )
            update = f" OR UPDATE OF {', '.join(columns)}" if columns else ""
            statements.append(
                f'CREATE TRIGGER metricdirty_{table} AFTER INSERT{update} OR DELETE ON "{table}" '
                f"FOR EACH ROW EXECUTE FUNCTION metricdirty_{table}()"
            )
    return statements


def _create_triggers(_target: object, connection: object, **_kw: object) -> None:
    """With SQLModel.metadata.create_all (the tests' databases), the triggers the migration makes."""
    dialect = connection.dialect.name  # type: ignore[attr-defined]
    for statement in trigger_statements(dialect):
        connection.execute(DDL(statement))  # type: ignore[attr-defined,no-untyped-call]


event.listen(SQLModel.metadata, "after_create", _create_triggers)
