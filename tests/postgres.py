"""A throwaway PostgreSQL server for team-mode tests: Debian's binaries, a temp dir, a free port.

PostgreSQL refuses to run as root, so under root every server command runs as the `postgres`
system user (`runuser`), in a directory it owns. It listens on 127.0.0.1 only, and password
authentication is required over TCP, so the URLs the tests hand out carry a real password.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import free_port

PG_ROOT = Path("/usr/lib/postgresql")
PREFERRED_MAJOR = "15"
SYSTEM_USER = "postgres"
ROLE = "trends"
START_TIMEOUT_S = 30


class PostgresUnavailable(Exception):
    """PostgreSQL cannot be started here; the message says why and what would fix it."""


def find_bindir(root: Path = PG_ROOT) -> Path:
    """Debian's binaries: version 15 if installed, else the newest major version."""
    found = sorted(
        (p.parent for p in root.glob("*/bin/initdb") if p.parent.parent.name.isdigit()),
        key=lambda p: (p.parent.name != PREFERRED_MAJOR, -int(p.parent.name)),
    )
    if not found:
        raise PostgresUnavailable(
            f"PostgreSQL is not installed: no {root}/*/bin/initdb "
            "(`apt-get install -y postgresql`; .ci/run does it)"
        )
    return found[0]


@dataclass
class PostgresServer:
    """One running server; `url(db)` is what a client of the team set-up is given."""

    bindir: Path
    directory: Path
    port: int
    password: str = field(repr=False)
    as_user: list[str]

    @property
    def datadir(self) -> Path:
        return self.directory / "data"

    def url(self, database: str) -> str:
        return f"postgresql://{ROLE}:{self.password}@127.0.0.1:{self.port}/{database}"

    def run(self, tool: str, *args: str) -> str:
        """A server binary as the owning user; a failure raises with its output."""
        done = subprocess.run(
            [*self.as_user, str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            cwd=self.directory,
        )
        if done.returncode != 0:
            raise PostgresUnavailable(f"{tool} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def sql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over the private socket (no password needed there)."""
        return self.run(
            "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
            "-h", str(self.directory), "-p", str(self.port), "-U", SYSTEM_USER,
            "-d", database, "-c", sql,
        )  # fmt: skip

    def create_database(self, name: str) -> str:
        """A database owned by the password role; returns its URL."""
        self.sql(f'create database "{name}" owner {ROLE}')
        return self.url(name)

    def dump(self, database: str) -> str:
        """Everything the database holds, as SQL text (to prove no secret is stored)."""
        return self.run(
            "pg_dump", "-h", str(self.directory), "-p", str(self.port), "-U", SYSTEM_USER,
            "--no-owner", database,
        )  # fmt: skip

    def log(self) -> str:
        path = self.directory / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _as_user() -> list[str]:
    """Empty when not root; else `runuser` to the postgres user, who must exist."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    try:
        import pwd

        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root and there is no `{SYSTEM_USER}` system user to run PostgreSQL "
            "as (Debian's postgresql package creates it)"
        ) from None
    if runuser is None:
        raise PostgresUnavailable("running as root and `runuser` is missing (util-linux)")
    return [runuser, "-u", SYSTEM_USER, "--"]


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a private server, yield it, then stop it and remove its directory."""
    bindir = find_bindir()
    as_user = _as_user()
    directory = Path(tempfile.mkdtemp(prefix="pg-team-"))
    if as_user:
        shutil.chown(directory, SYSTEM_USER, SYSTEM_USER)
    server = PostgresServer(bindir, directory, free_port(), secrets.token_urlsafe(18), as_user)
    started = False
    try:
        server.run(
            "initdb", "-D", str(server.datadir), "-U", SYSTEM_USER, "--no-sync",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {server.port} "
            f"-c unix_socket_directories={directory} -c fsync=off -c max_connections=300"
        )
        try:
            server.run(
                "pg_ctl", "start", "-w", "-t", str(START_TIMEOUT_S), "-D", str(server.datadir),
                "-l", str(directory / "server.log"), "-o", options,
            )  # fmt: skip
        except PostgresUnavailable as exc:
            raise PostgresUnavailable(f"{exc}; server log: {server.log()}") from None
        started = True
        server.sql(f"create role {ROLE} login password '{server.password}'")
        yield server
    finally:
        if started:
            server.run("pg_ctl", "stop", "-D", str(server.datadir), "-m", "fast", "-w")
        shutil.rmtree(directory, ignore_errors=True)
