"""End-to-end fixtures that start real servers beyond the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.postgres import PostgresServer, PostgresUnavailable, running_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A private PostgreSQL (Debian's, 15 preferred) on a free 127.0.0.1 port, with a
    password role; stopped and removed after the session. Skips, saying why, only when
    no server can be started here."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(running_postgres())
        except PostgresUnavailable as exc:
            pytest.skip(f"team-mode tests need PostgreSQL: {exc}")
        yield server
