"""Reading the first rows of a long list in an order an index holds, when some tests cannot be in the index: a
bounded slice of the index first, the tests on those rows only (`walk`). Used by My tasks and the talent pool's
picker, where PostgreSQL — misjudging what the tests keep — read and sorted every matching row."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import ARRAY, Integer, Select, any_, bindparam, func, literal_column
from sqlmodel import Session, col, select

FIRST_SLICE = 8  # keys read on their own per row wanted: four times what the sparsest list (stale ones) needs


def walk(session: Session, keys: Select[Any], keep: Callable[[Any], Select[Any]], limit: int,
         first: int | None = None) -> list[Any]:
    """The first `limit` rows that `keep` makes of the keys `keys` walks, in the keys' order.

    `keys` selects the ids of the rows that may be listed along one index, in its order (no test an index cannot
    hold); `keep(among)` reads those of them (`among(id column)`: the id is one of those given) that pass the other
    tests (whose candidate, still the newest contact, no application open), in the same order. The first `first` keys
    (FIRST_SLICE × `limit` unless given: as many as hold `limit` rows kept, with room to spare) are
    read on their own and `keep` given them as a list: a bounded slice, so neither planner can choose to read every
    matching row and sort them — which PostgreSQL, misjudging how many rows the tests keep, did (40-230 ms per
    list at 100k candidates). Only where the slice held too few, `keep` reads the rest of the range in one statement.
    Two statements, or three, however large the tables grow."""
    size = first or FIRST_SLICE * limit
    ids = list(session.exec(keys.limit(size)).all())
    found = list(session.exec(keep(among(session, ids)).limit(limit)).all()) if ids else []
    if len(found) < limit and len(ids) == size:  # the range goes on: the rest of it, in one statement
        rest = keys.offset(size).scalar_subquery()
        found += session.exec(keep(lambda column: col(column).in_(rest)).limit(limit - len(found))).all()
    return found


def among(session: Session, ids: list[Any]) -> Callable[[Any], Any]:
    """SQL, for a column: it is one of `ids` — on PostgreSQL one array parameter (`= ANY`), which it parses and
    plans at once, where a thousand bound values cost it more than reading their rows; on SQLite one JSON
    array parameter read by `json_each` (binding a thousand values costs SQLAlchemy more than SQLite's reads)."""
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



