"""What a failed write means for whoever is waiting on it: retry later, or never.

A payment provider reads an answer in three ways, and each must be true:

* **2xx**: the money is recorded (the event and every money plugin's rows are on disk).
* **503**: not now; retry and it will work. Only for failures that go away by themselves:
  the database is busy, unreachable, full or timing out (:func:`is_transient`).
* **4xx**: never. The delivery itself is what fails (a value the database refuses, a
  plugin that raises on this input every time), so retrying would loop on 503 forever;
  the delivery is kept in the quarantine instead (:mod:`limelight.quarantine`).

Anything not known to be transient counts as poison: a plugin's own bug fails the same
way on every retry, and a quarantined delivery is in the streamer's sight, which a
provider retrying against a 503 for three days is not.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator

from tortoise import exceptions as orm


class NotRecorded(Exception):
    """The durable rows of a delivery could not be written now; the publisher should retry
    (an HTTP 503 with ``Retry-After``). Nothing was answered as recorded."""


class Unrecordable(Exception):
    """A delivery that can never be recorded as it is (an HTTP 422): ``reason`` says why;
    ``quarantined`` is true when it is kept in the quarantine for the streamer."""

    def __init__(self, reason: str, *, quarantined: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.quarantined = quarantined


#: Retrying helps: the database or the path to it is busy, down, full or slow.
_TRANSIENT: tuple[type[BaseException], ...] = (
    orm.DBConnectionError,
    orm.TransactionManagementError,
    ConnectionError,
    TimeoutError,  # a statement or a plugin's hook that ran out of time
    OSError,
)
_postgres_classes: tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]] | None
_postgres_classes = None


def _postgres() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """PostgreSQL driver errors: (transient, any other). Empty while asyncpg is not
    imported: then no error can be one of its, and a SQLite setup never pays for importing
    the driver (about 10 ms of start-up). Looked up once asyncpg is there."""
    global _postgres_classes
    if _postgres_classes is None:
        asyncpg = sys.modules.get("asyncpg")
        if asyncpg is None:
            return (), ()
        _postgres_classes = (
            (
                asyncpg.PostgresConnectionError,
                asyncpg.InsufficientResourcesError,  # disk full, out of memory, too many
                asyncpg.OperatorInterventionError,  # shutting down, statement timeout
                asyncpg.TransactionRollbackError,  # serialization failure, deadlock
                asyncpg.LockNotAvailableError,
                # A read-only database (a standby after a failover, a database set
                # ``default_transaction_read_only`` for maintenance): the database's state,
                # not the row's; the same write works once it can write again.
                asyncpg.ReadOnlySQLTransactionError,
                asyncpg.InterfaceError,  # "connection is closed", "another operation..."
            ),
            (asyncpg.PostgresError, asyncpg.InternalClientError),
        )
    return _postgres_classes


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what caused it, innermost last (tortoise wraps the driver's error as
    its cause, its context, or its first argument)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        arg = current.args[0] if current.args else None
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
        if current is None and isinstance(arg, BaseException):
            current = arg


def is_transient(exc: BaseException) -> bool:
    """Will the same write work if tried again later? The first error in the chain that
    says (a driver's error, a bad value, a lost connection) decides. Errors that say
    nothing of the database (a plugin's own ``RuntimeError`` raised while handling a
    database error) defer to what they wrap; a bare ORM ``OperationalError`` with nothing
    decisive under it counts as the database's (SQLite's "database is locked" arrives
    that way); anything else is poison."""
    bare_orm_error = False
    for cause in _chain(exc):
        verdict = _verdict(cause)
        if verdict is not None:
            return verdict
        bare_orm_error = bare_orm_error or type(cause) is orm.OperationalError
    return bare_orm_error


def _verdict(cause: BaseException) -> bool | None:
    """True (transient), False (poison) or None (says nothing; look at what it wraps)."""
    if isinstance(cause, ValueError | ArithmeticError):
        return False  # bad values, encodings (asyncpg's client-side DataError is one too)
    postgres_transient, postgres_errors = _postgres()
    if isinstance(cause, postgres_transient):
        return True
    if isinstance(cause, postgres_errors):
        return False  # bad data, a constraint, an unknown table: the same every time
    if isinstance(cause, sqlite3.OperationalError):
        return True  # locked, disk I/O error, database or disk is full
    if isinstance(cause, sqlite3.Error):
        return False  # integrity, data, programming errors
    if isinstance(cause, _TRANSIENT):
        return True
    if type(cause) is orm.OperationalError:
        return None
    if isinstance(cause, orm.BaseORMException):
        return False  # IntegrityError, DoesNotExist, ValidationError, ...
    return None


def describe(exc: BaseException, limit: int = 300) -> str:
    """``Type: first line`` of the innermost error that says something, capped: the reason
    given to a provider and shown in the dashboard (never a traceback)."""
    best = exc
    for cause in _chain(exc):
        if str(cause).strip():
            best = cause
    lines = str(best).strip().splitlines()
    text = f"{type(best).__name__}: {lines[0]}" if lines else type(best).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["NotRecorded", "Unrecordable", "describe", "is_transient"]
