"""Reading the first rows of a long list in an order an index holds, when some tests cannot be in the index: a
bounded slice of the index first, the tests on those rows only (`walk`). Used by My tasks and the talent pool's
picker, where PostgreSQL — misjudging what the tests keep — read and sorted every matching row."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import ARRAY, Integer, any_, bindparam, func, literal_column
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

FIRST_SLICE = 2  # keys read at first per row wanted: where nearly every key is kept (most lists), little more
SECOND_SLICE_MAX = 16  # per row wanted: the most keys a second slice reads (its size follows the first's yield)


def walk(
    session: Session,
    keys: SelectOfScalar[Any],
    keep: Callable[[Any], Select[*tuple[Any, ...]] | SelectOfScalar[Any]],
    limit: int,
    first: int | None = None,
) -> list[Any]:
    """The first `limit` rows that `keep` makes of the keys `keys` walks, in the keys' order.

    `keys` selects the ids of the rows that may be listed along one index, in its order (no test an index cannot
    hold); `keep(among)` reads those of them (`among(id column)`: the id is one of those given) that pass the other
    tests (whose candidate, still the newest contact, no application open), in the same order. The keys are read
    in bounded slices and `keep` given each as a list, so neither planner can choose to read every matching row
    and sort them — which PostgreSQL, misjudging how many rows the tests keep, did (40-230 ms per list at 100k
    candidates). The first slice holds `first` keys (FIRST_SLICE × `limit` unless given): where nearly every key
    is kept, which is most lists, that is all. Where it kept too few and the range goes on, a second slice sized
    by what the first kept (twice the keys that rate needs, at most SECOND_SLICE_MAX × `limit` or four first
    slices), and only where that too fell short, `keep` reads the rest of the range in one statement. Two
    statements, at most five, however large the tables grow; each key read is one lookup in `keep`, so a slice
    is never much larger than needed (8 × `limit` read 800 keys for 100 rows: 5 of My tasks' 45 ms on
    PostgreSQL)."""
    size = first or FIRST_SLICE * limit
    ids = list(session.exec(keys.limit(size)).all())
    found = list(session.exec(keep(among(session, ids)).limit(limit)).all()) if ids else []
    if len(found) >= limit or len(ids) < size:
        return found
    wanted = limit - len(found)
    more = min(max(SECOND_SLICE_MAX * limit, 4 * size), max(limit, 2 * wanted * size // max(len(found), 1)))
    ids = list(session.exec(keys.offset(size).limit(more)).all())
    found += session.exec(keep(among(session, ids)).limit(wanted)).all() if ids else []
    if len(found) < limit and len(ids) == more:  # the range goes on: the rest of it, in one statement
        rest = keys.offset(size + more).scalar_subquery()
        found += session.exec(keep(lambda column: col(column).in_(rest)).limit(limit - len(found))).all()
    return found


def among(session: Session, ids: list[Any]) -> Callable[[Any], Any]:
    """SQL, for a column: it is one of `ids` — on PostgreSQL one array parameter (`= ANY`), which it parses and
    plans at once, where a thousand bound values cost it more than reading their rows. An int[] parameter, not
    text cast to one: the planner sees how many ids there are only in a parameter of the array's own type (given
    text, it expected a few and planned the talent pool's picker to take 15 s without statistics, 0.4 s with);
    on SQLite one JSON array parameter read by `json_each` (binding a thousand values costs SQLAlchemy more than
    SQLite's reads)."""
    if session.get_bind().dialect.name == "postgresql":
        values = bindparam("ids", ids, type_=ARRAY(Integer))
        return lambda column: column == any_(values)
    listed = select(literal_column("value")).select_from(func.json_each(json.dumps(ids))).scalar_subquery()
    return lambda column: col(column).in_(listed)


def of(column: Any, where: Any) -> Any:
    """SQL: `column` of the one row `where` finds, read per row of the enclosing query — which starts from the
    ids a `walk` gives it, never from the joined table (SQLite without statistics began a join with every open
    job's applications, or every candidate of the owner)."""
    return select(column).where(where).scalar_subquery()
