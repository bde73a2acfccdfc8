"""Where the warehouse lives: one DuckLake (a catalog plus Parquet data files) on DuckDB 1.5.

Embedded default: the catalog is a SQLite file and the data files sit beside it under
`WAREHOUSE_PATH` (default `data/`). Teams set `WAREHOUSE_CATALOG` to a PostgreSQL URL (and
`WAREHOUSE_DATA_PATH` to a shared path); nothing else changes. DuckLake gives snapshot
isolation, so analysts read while runs write, and several writers commit side by side.

Extensions come from the `duckdb-extension-*` wheels, copied once into DuckDB's extension
directory: nothing is ever downloaded. No Dagster here: scripts, dbt and tests use it too.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import duckdb
from dlt.common.configuration.specs.connection_string_credentials import (
    ConnectionStringCredentials,
)
from dlt.common.destination import Destination

from .errors import ConfigError
from .redaction import redact, register

LAKE_NAME = "lake"
# The project's own data/, wherever the process runs from: dbt and dagster-dbt change the
# working directory to warehouse/, so a relative default would name warehouse/data/.
DEFAULT_ROOT = str(Path(__file__).resolve().parents[1] / "data")
# Where the process was launched: a relative setting names a path from here, even when read
# later under dbt's working directory (dagster-dbt works inside warehouse/).
LAUNCH_DIR = Path.cwd()
CATALOG_FILE = "warehouse.sqlite"
DATA_DIR = "lake"
# The wheel's file and the name DuckDB looks for (its entry point) differ for two of them.
_EXTENSIONS = {"ducklake": "ducklake", "sqlite": "sqlite_scanner", "postgres": "postgres_scanner"}
# The password of a URL's user info (`scheme://user:PASSWORD@host`), however it is encoded.
_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/]*@", re.IGNORECASE)
# Seconds a writer waits on the SQLite catalog's lock before DuckLake reports a conflict.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Rows per Parquet row group the lake writes. A writer buffers a whole row group of every
# column, so DuckLake's default (122,880) held ~480 MiB when loading 5M KeyAPI rows; 20,000
# holds ~200 MiB at the same speed, and a scan, a point query and a distinct count over
# those rows took the same time (40-50 ms, 35-40 ms, 0.39-0.42 s).
PARQUET_ROW_GROUP_ROWS = 20_000


def redact_catalog(text: str) -> str:
    """Every registered secret (catalog passwords included) and any URL's password masked."""
    return _URL_PASSWORD.sub(r"\1***@", redact(text))


def extension_directory() -> Path:
    """DuckDB's own default (`~/.duckdb/extensions`) unless `DUCKDB_EXTENSION_DIRECTORY` is set,
    so the CLI and any BI tool on this machine find the same copies."""
    configured = os.environ.get("DUCKDB_EXTENSION_DIRECTORY")
    return Path(configured).expanduser() if configured else Path.home() / ".duckdb" / "extensions"


@functools.cache
def _platform() -> str:
    """DuckDB's platform string, from a private connection: the module-level default one is
    shared by every thread, and two threads' queries on it lose each other's results."""
    with duckdb.connect() as con:
        return con.execute("pragma platform").fetchone()[0]


def ensure_extensions() -> Path:
    """Copy the wheel-shipped extensions where `LOAD` finds them offline; idempotent and cheap."""
    version = duckdb.__version__
    platform = _platform()
    target = extension_directory() / f"v{version}" / platform
    for package, name in _EXTENSIONS.items():
        dest = target / f"{name}.duckdb_extension"
        source = resources.files(f"duckdb_extension_{package}").joinpath(
            f"extensions/v{version}/{package}.duckdb_extension"
        )
        with resources.as_file(source) as path:
            if not path.exists():
                raise ConfigError(
                    f"the {package} extension for DuckDB {version} is missing from its wheel "
                    f"({path}); reinstall with `pip install duckdb-extension-{package}=={version}`"
                )
            if dest.exists() and dest.stat().st_size == path.stat().st_size:
                continue
            try:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)
            except OSError as exc:
                raise ConfigError(
                    f"cannot write DuckDB extensions to {target} ({exc.strerror}); set "
                    "DUCKDB_EXTENSION_DIRECTORY to a writable directory"
                ) from None
    return extension_directory()


def duckdb_config() -> dict[str, str | bool]:
    """Settings for every connection: extensions from the wheels only, never the network."""
    return {
        "extension_directory": str(ensure_extensions()),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": True,
    }


@functools.cache
def verify_extension_signatures() -> None:
    """Load every copied extension once in a DuckDB that checks signatures (the default): a
    file that is not the one DuckDB signed fails here, before any load job uses it."""
    with duckdb.connect(config=duckdb_config()) as con:
        for name in _EXTENSIONS.values():
            con.execute(f"LOAD {name}")


def _checked_dir(setting: str, value: str) -> Path:
    """A local directory we can create and write (relative: from `LAUNCH_DIR`), or a
    ConfigError naming the setting."""
    path = (LAUNCH_DIR / Path(value).expanduser()).resolve()
    if str(path).startswith(("/proc", "/sys", "/dev")):
        raise ConfigError(
            f"{setting}={value!r} is inside a virtual file system; point {setting} at a "
            "directory on disk"
        )
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(
                    f"{setting}={value!r}: {parent} is a file, not a directory; "
                    f"point {setting} at a directory"
                )
            if not os.access(parent, os.W_OK):
                raise ConfigError(
                    f"{setting}={value!r}: {parent} is not writable; "
                    f"point {setting} at a directory you can write"
                )
            break
    return path


# One attached lake per process and mode: loading the extensions and the catalog costs about
# 1.5 s, a cursor on an open one nothing. Each cursor still starts its own transactions, so
# it sees every snapshot other processes commit.
_OPEN: dict[tuple[Lake, bool, int], duckdb.DuckDBPyConnection] = {}
_OPEN_LOCK = threading.Lock()


@dataclass(frozen=True)
class Lake:
    """One warehouse: its catalog (SQLite path or PostgreSQL URL) and its data path."""

    catalog: str
    data_path: str

    @classmethod
    def from_settings(
        cls,
        root: str | None = None,
        catalog: str | None = None,
        data_path: str | None = None,
        env: Mapping[str, str] = os.environ,
    ) -> Lake:
        """Arguments first, then `WAREHOUSE_PATH` / `WAREHOUSE_CATALOG` / `WAREHOUSE_DATA_PATH`."""
        root_value = root or env.get("WAREHOUSE_PATH") or DEFAULT_ROOT
        catalog = catalog or env.get("WAREHOUSE_CATALOG") or None
        data_path = data_path or env.get("WAREHOUSE_DATA_PATH") or None
        if catalog is None:
            base = _checked_dir("WAREHOUSE_PATH", root_value)
            catalog = f"sqlite:///{base / CATALOG_FILE}"
            data_path = data_path or str(base / DATA_DIR)
        else:
            scheme = urlsplit(catalog).scheme
            if scheme not in ("postgresql", "postgres", "sqlite"):
                raise ConfigError(
                    f"WAREHOUSE_CATALOG must be postgresql://user:password@host:port/db or "
                    f"sqlite:///path, not a {scheme or 'plain'} value; unset it for the "
                    "embedded SQLite catalog"
                )
            if scheme == "sqlite":
                catalog = f"sqlite:///{LAUNCH_DIR / catalog.removeprefix('sqlite:///')}"
            if data_path is None:
                raise ConfigError(
                    "WAREHOUSE_CATALOG is set, so WAREHOUSE_DATA_PATH must be too: the shared "
                    "directory (or object-store URL) every writer and reader reaches"
                )
        if "://" not in data_path:
            data_path = str(_checked_dir("WAREHOUSE_DATA_PATH", data_path))
        return cls(catalog=catalog, data_path=data_path.rstrip("/") + "/")

    @property
    def relocatable(self) -> bool:
        """An embedded lake may be moved or copied whole (`data/` elsewhere): its files then sit
        beside the catalog under a new path, which DuckLake accepts only when told to."""
        return not self.is_postgres

    @property
    def is_postgres(self) -> bool:
        return self.catalog.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_file(self) -> Path | None:
        return None if self.is_postgres else Path(self.catalog.removeprefix("sqlite:///"))

    def __post_init__(self) -> None:
        # Registered once: every `redact` (logs, errors, run metadata) masks it from now on.
        password = unquote(urlsplit(self.catalog).password or "")
        for form in {password, quote(password, safe="")}:
            register(form)

    def redact(self, text: str) -> str:
        """`text` with the catalog's password masked: drivers quote the catalog URL in their
        connection errors, re-encoded their own way, so any URL's password goes too."""
        return redact_catalog(text)

    def credentials(self) -> ConnectionStringCredentials:
        return ConnectionStringCredentials(self.catalog)

    def attach_sql(self, alias: str = LAKE_NAME, *, read_only: bool = False) -> str:
        """The `ATTACH` dlt's ducklake destination issues too, so both open the same lake."""
        from dlt.destinations.impl.ducklake.sql_client import DuckLakeSqlClient

        sql = DuckLakeSqlClient.build_attach_statement(
            ducklake_name=alias,
            catalog=self.credentials(),
            storage_url=self.data_path,
            override_data_path=self.relocatable,
        )
        sql = sql.replace("META_BUSY_TIMEOUT 1000", f"META_BUSY_TIMEOUT {SQLITE_BUSY_TIMEOUT_MS}")
        return sql[:-1] + (", READ_ONLY)" if read_only else ")")

    def dlt_destination(self, staging_dataset_name_layout: str) -> Destination:
        """dlt's ducklake destination on this lake, loading extensions from the wheels."""
        # Imported here: dlt's destination classes load only in a process that loads data.
        from .lake_destination import LakeCredentials, LakeDestination

        credentials = LakeCredentials(LAKE_NAME, catalog=self.catalog, storage=self.data_path)
        credentials.global_config = duckdb_config()
        return LakeDestination(
            credentials=credentials,
            staging_dataset_name_layout=staging_dataset_name_layout,
            override_data_path=self.relocatable,
        )

    def dbt_env(self) -> dict[str, str]:
        """What `warehouse/profiles.yml` reads: the same lake, attached by dbt-duckdb."""
        if self.is_postgres:
            url = urlsplit(self.catalog)
            parts = {
                "dbname": url.path.lstrip("/"),
                "host": url.hostname,
                "port": url.port,
                "user": unquote(url.username or ""),
                "password": unquote(url.password or ""),
            }
            dsn = " ".join(f"{k}={v}" for k, v in parts.items() if v)
            attach, schema = f"ducklake:postgres:{dsn}", LAKE_NAME
        else:
            attach, schema = f"ducklake:sqlite:{self.sqlite_file}", "main"
        return {
            "DBT_LAKE_ATTACH_PATH": attach,
            "DBT_LAKE_DATA_PATH": self.data_path,
            "DBT_LAKE_METADATA_SCHEMA": schema,
            "DBT_LAKE_OVERRIDE_DATA_PATH": str(self.relocatable),
            "DUCKDB_EXTENSION_DIRECTORY": str(ensure_extensions()),
        }

    def prepare(self) -> None:
        """Create the local directories the embedded lake needs (the first run does it)."""
        if self.sqlite_file is not None:
            self.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        if "://" not in self.data_path:
            Path(self.data_path).mkdir(parents=True, exist_ok=True)

    def connect(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB with the lake attached as `lake` and used, so `raw_keyapi.x`
        resolves. Read-only connections never block a writer."""
        if read_only and self.sqlite_file is not None and not self.sqlite_file.exists():
            raise ConfigError(
                f"no warehouse at {self.sqlite_file} yet; run the pipeline first "
                "(README command 1) or set WAREHOUSE_PATH"
            )
        key = (self, read_only, os.getpid())
        with _OPEN_LOCK:
            database = _OPEN.get(key)
            if database is None:
                self.prepare()
                database = duckdb.connect(config=duckdb_config())
                try:
                    database.execute(self.attach_sql(read_only=read_only))
                except duckdb.Error as exc:
                    database.close()
                    # DuckDB's error quotes the whole catalog URL, password included.
                    raise type(exc)(self.redact(str(exc))) from None
                except Exception:
                    database.close()
                    raise
                if not read_only:
                    _set_write_options(database)
                _OPEN[key] = database
        con = database.cursor()
        con.execute(f"USE {LAKE_NAME}")
        return con

    def local_files(self) -> Iterator[Path]:
        """Every local file the lake consists of (catalog and Parquet), e.g. to scan for leaks."""
        roots = [p for p in (self.sqlite_file,) if p is not None]
        if "://" not in self.data_path:
            roots.append(Path(self.data_path))
        for root in roots:
            if root.is_file():
                yield root
            elif root.is_dir():
                yield from (p for p in root.rglob("*") if p.is_file())
        if self.sqlite_file is not None:
            for suffix in ("-wal", "-shm"):
                extra = self.sqlite_file.with_name(self.sqlite_file.name + suffix)
                if extra.exists():
                    yield extra


def _set_write_options(database: duckdb.DuckDBPyConnection) -> None:
    """Store the lake's writer settings in its catalog, where every writer (dlt's load jobs,
    dbt) reads them; written only when they differ, so writers rarely touch the catalog."""
    stored = database.execute(
        f"select value from ducklake_options('{LAKE_NAME}') "
        "where option_name = 'parquet_row_group_size'"
    ).fetchone()
    if stored != (str(PARQUET_ROW_GROUP_ROWS),):
        database.execute(
            f"call {LAKE_NAME}.set_option('parquet_row_group_size', {PARQUET_ROW_GROUP_ROWS})"
        )


def connect(read_only: bool = True, **settings: str) -> duckdb.DuckDBPyConnection:
    """The analyst's one call: the configured lake, read-only, with every schema searchable.

    `settings` are `Lake.from_settings` arguments (`root`, `catalog`, `data_path`).
    """
    con = Lake.from_settings(**settings).connect(read_only=read_only)
    con.execute(f"set search_path = '{search_path(con)}'")
    return con


def search_path(con: duckdb.DuckDBPyConnection) -> str:
    """marts first, then staging, ops and the raw schemas: `select * from trending_now` works."""
    schemas = [
        name
        for (name,) in con.execute(
            "select schema_name from duckdb_schemas() where database_name = ? "
            "and not starts_with(schema_name, '_dlt') order by schema_name",
            [LAKE_NAME],
        ).fetchall()
    ]
    first = [s for s in ("marts", "staging", "ops") if s in schemas]
    rest = [s for s in schemas if s not in first]
    return ",".join(f"{LAKE_NAME}.{s}" for s in (*first, *rest))


def shell_init(read_only: bool = True) -> str:
    """The SQL the `duckdb` CLI (1.5.5, in the venv) runs first to open the lake like `connect`.

    It holds a PostgreSQL catalog's password, so callers pass it in a private file, never on
    a command line other users can read.
    """
    lake = Lake.from_settings()
    with lake.connect(read_only=True) as con:
        path = search_path(con)
    return (
        f"SET extension_directory = '{ensure_extensions()}';"
        "SET autoinstall_known_extensions = false;"
        f"{lake.attach_sql(read_only=read_only)};"
        f"USE {LAKE_NAME};"
        f"SET search_path = '{path}';\n"
    )
