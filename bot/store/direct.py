"""The worker's hot statements, run on the DBAPI cursor: SQLAlchemy Core defines them, compiles
them once per dialect, and handles their errors; only the execution is direct.

Why (issue 17): `Connection.execute` builds a cache key, an execution context and a result
object for every statement. On the turn's SELECT that was 96 µs of CPU against 55 µs for the
same SQL on the cursor (PostgreSQL, measured in one process); a question runs six to eight such
statements. The statements stay one definition for PostgreSQL and SQLite: the column types'
own bind and result processors are applied (JSON, SQLite's dates and booleans), and a DBAPI
error goes through SQLAlchemy's own handling, so a lost connection is invalidated and raised as
`sqlalchemy.exc.OperationalError` exactly as before (bot/pipeline/faults.py tells outages apart
by those types).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import bindparam, insert
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Select

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    """One statement compiled for one dialect and one set of keys."""
    sql: str
    names: tuple[str, ...]                      # its parameters, in the order a positional DBAPI takes them
    positional: bool
    fixed: Mapping[str, Any]                    # parameters with a value in the statement (a LIMIT, a literal)
    bind: tuple[tuple[str, Processor], ...]     # parameters whose type converts the value (JSON, SQLite dates)
    columns: tuple[str, ...]                    # the result's column names
    results: tuple[Processor, ...]              # per result column: how its type reads the DBAPI value

    def parameters(self, given: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = {**self.fixed, **given} if self.fixed else dict(given)
        for name, process in self.bind:
            value = values.get(name)
            if value is not None and process is not None:
                values[name] = process(value)
        return tuple(values[name] for name in self.names) if self.positional else values

    def read(self, row: Sequence[Any]) -> tuple:
        return tuple(value if process is None or value is None else process(value)
                     for value, process in zip(row, self.results, strict=True))


def _compile(statement: ClauseElement, dialect: Dialect, keys: Iterable[str] | None) -> _Compiled:
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect,
                                                   column_keys=list(keys) if keys is not None else None))
    binds = compiled.binds
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(binds)
    fixed = {name: bind.effective_value for name, bind in binds.items() if not bind.required}
    bind = tuple((name, processor) for name, parameter in binds.items()
                 if (processor := parameter.type.dialect_impl(dialect).bind_processor(dialect)) is not None)
    selected = statement.selected_columns if isinstance(statement, Select) else statement.exported_columns  # type: ignore[attr-defined]
    columns = tuple(str(column.key) for column in selected)
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected)
    return _Compiled(str(compiled), names, bool(compiled.positional), fixed, bind, columns, results)


class DirectStatement:
    """A Core statement run on the connection's DBAPI cursor.

    An INSERT or UPDATE sets the columns of the keys given, as `Connection.execute` does: it is
    compiled once per dialect and set of keys. Run it on the turn's connection
    (`session.connection()`): it takes part in its transaction.
    """

    def __init__(self, statement: ClauseElement):
        self._statement = statement
        self._keyed = not isinstance(statement, Select)
        self._compiled: dict[tuple, _Compiled] = {}

    def _for(self, dialect: Dialect, keys: Iterable[str]) -> _Compiled:
        key = (dialect.name, tuple(keys) if self._keyed else None)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = _compile(self._statement, dialect, key[1])
        return found

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple]:
        """Run it; the rows it returns (none for a statement without RETURNING), types applied."""
        compiled = self._for(connection.dialect, params.keys())
        found = run(connection, compiled.sql, compiled.parameters(params), fetch=bool(compiled.columns))
        return [compiled.read(row) for row in found]

    def first(self, connection: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Run it; its first row by column name, or None."""
        compiled = self._for(connection.dialect, params.keys())
        found = run(connection, compiled.sql, compiled.parameters(params), fetch=True)
        return dict(zip(compiled.columns, compiled.read(found[0]), strict=True)) if found else None

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> None:
        compiled = self._for(connection.dialect, params.keys())
        run(connection, compiled.sql, compiled.parameters(params), fetch=False)


class DirectInsertMany:
    """`INSERT ... VALUES (...), (...) RETURNING id` for a few rows of one table, on the cursor.

    One statement per (keys, number of rows), compiled once. The ids come back sorted: within one
    INSERT the rows take their ids from the sequence (PostgreSQL) or rowid (SQLite) in the order
    of VALUES, so the n-th smallest id is the n-th row's, whatever order RETURNING lists them in.
    """

    def __init__(self, table, id_column):
        self._table = table
        self._id = id_column
        self._statements: dict[tuple, DirectStatement] = {}

    def ids(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        keys = tuple(rows[0])
        statement = self._statements.get((keys, len(rows)))
        if statement is None:
            values = [{key: bindparam(f"r{i}_{key}", type_=self._table.c[key].type) for key in keys}
                      for i in range(len(rows))]
            statement = self._statements[(keys, len(rows))] = DirectStatement(
                insert(self._table).values(values).returning(self._id))
        params = {f"r{i}_{key}": row[key] for i, row in enumerate(rows) for key in keys}
        ids = sorted(row[0] for row in statement.rows(connection, params))
        if len(ids) != len(rows):
            raise RuntimeError(f"INSERT returned {len(ids)} ids for {len(rows)} rows")
        return ids


def execute_alone(engine: Engine, statement: DirectStatement, params: Mapping[str, Any]) -> None:
    """Run one statement as a transaction of its own, committed as it runs (autocommit): on
    PostgreSQL one round trip where BEGIN, the statement and COMMIT were three (issue 17). One
    statement is atomic either way. SQLite's connections already run a statement outside
    SQLAlchemy's BEGIN IMMEDIATE that way (bot/store/database.py)."""
    with engine.connect() as connection:
        dbapi_connection = connection.connection.dbapi_connection
        switch = getattr(dbapi_connection, "autocommit", None) is False         # psycopg2's flag, set client-side
        if switch:
            dbapi_connection.autocommit = True  # type: ignore[union-attr]
        try:
            statement.execute(connection, params)
        finally:
            if switch and not connection.invalidated:
                dbapi_connection.autocommit = False  # type: ignore[union-attr]  # as the pool expects it back


def run(connection: Connection, sql: str, parameters: Sequence[Any] | dict[str, Any], *, fetch: bool) -> list:
    """Execute on the connection's DBAPI cursor (in its transaction); a DBAPI error is raised the
    way `Connection.execute` raises it (wrapped, the connection invalidated when it was lost)."""
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None, "the connection was closed"
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, parameters)
        return list(cursor.fetchall()) if fetch else []
    except connection.dialect.loaded_dbapi.Error as error:
        # SQLAlchemy's own handler: wraps the error in its exception types and, on a disconnect,
        # invalidates this connection and the pool's older ones, as for any statement it runs.
        connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
    finally:
        with suppress(Exception):       # a cursor of a connection just lost may refuse to close
            cursor.close()


__all__ = ["DirectInsertMany", "DirectStatement", "execute_alone", "run"]
