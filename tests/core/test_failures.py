"""``limelight.failures.is_transient``: which database errors are worth a retry.

What rides on it: a transient error keeps a chat batch for the next flush and answers a
webhook 503 (the provider retries); any other is the row's own, written around (chat) or
refused for good (422). A database state taken for a row's fault loses the row.
"""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from limelight.failures import is_transient
from tortoise import exceptions as orm


def _wrapped(cause: BaseException, wrapper: type[Exception]) -> Exception:
    """``cause`` as tortoise raises it: inside one of its own errors."""
    try:
        raise wrapper(cause) from cause
    except wrapper as exc:
        return exc


READ_ONLY = asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction")


@pytest.mark.parametrize(
    "error",
    [
        READ_ONLY,
        _wrapped(READ_ONLY, orm.OperationalError),
        _wrapped(READ_ONLY, orm.TransactionManagementError),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.DiskFullError("could not extend file"),
        sqlite3.OperationalError("attempt to write a readonly database"),
        sqlite3.OperationalError("database is locked"),
        _wrapped(sqlite3.OperationalError("disk I/O error"), orm.OperationalError),
    ],
    ids=repr,
)
def test_the_databases_own_state_is_transient(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.UniqueViolationError("duplicate key value violates unique constraint"),
        _wrapped(asyncpg.StringDataRightTruncationError("value too long"), orm.OperationalError),
        sqlite3.IntegrityError("UNIQUE constraint failed"),
        ValueError("invalid literal"),
        orm.IntegrityError("NOT NULL constraint failed"),
    ],
    ids=repr,
)
def test_a_rows_own_fault_is_not(error: BaseException) -> None:
    assert not is_transient(error)
