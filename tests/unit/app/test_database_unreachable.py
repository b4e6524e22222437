"""Which errors read as a database outage (503 with Retry-After) rather than a bug (500)."""

import socket

import asyncpg.exceptions as pg
import pytest
from sqlalchemy import exc as sa_exc

from app.web import database_unreachable


def wrapped(orig: BaseException) -> sa_exc.DBAPIError:
    """What SQLAlchemy's asyncpg dialect raises when connecting fails: a bare DBAPIError from the driver's."""
    err = sa_exc.DBAPIError("connect", None, orig, connection_invalidated=False)
    err.__cause__ = orig
    return err


@pytest.mark.parametrize("orig", [
    pg.CannotConnectNowError("the database system is starting up"),  # 57P03, seen in scripts/faults.py
    pg.CannotConnectNowError("the database system is not yet accepting connections"),
    pg.AdminShutdownError("terminating connection due to administrator command"),  # 57P01: -m fast
    pg.CrashShutdownError("terminating connection because of crash of another server process"),  # 57P02
    pg.TooManyConnectionsError("sorry, too many clients already"),  # 53300
    pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),  # 08003
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError(),
    socket.gaierror(-2, "Name or service not known"),
])
def test_the_server_refusing_or_restarting_is_an_outage(orig):
    assert database_unreachable(wrapped(orig))
    assert database_unreachable(orig)


@pytest.mark.parametrize("orig", [
    pg.UniqueViolationError("duplicate key value violates unique constraint"),  # 23505: a bug or a race
    pg.UndefinedColumnError("column x does not exist"),
    pg.DataError("invalid input"),
    OSError(28, "No space left on device"),  # a full disk while storing an upload is not the database's
    ValueError("bad"),
])
def test_a_statement_or_disk_error_is_not_an_outage(orig):
    assert not database_unreachable(wrapped(orig))
    assert not database_unreachable(orig)


def test_invalidated_connections_and_operational_errors_are_outages():
    assert database_unreachable(sa_exc.DBAPIError("select 1", None, ValueError("x"), connection_invalidated=True))
    assert database_unreachable(sa_exc.OperationalError("select 1", None, ValueError("x")))
    assert database_unreachable(sa_exc.TimeoutError("QueuePool limit reached"))
