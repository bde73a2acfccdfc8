"""Move an old single-file warehouse (`data/warehouse.duckdb`) into the lake, losing nothing.

The previous version wrote one DuckDB 2.0 file; the lake runs on DuckDB 1.5.5, which cannot
open it. So the old file is read by the DuckDB that wrote it, in a throwaway venv (only PyPI
is needed), and exported table by table to Parquet with a manifest (rows, columns, keys).
DuckDB 1.5.5 then creates each table in the lake from that Parquet, and every table is
checked: rows in the old file, in the Parquet and in the lake, and a checksum of every
column (so of the keys too) between the Parquet and the lake. A file DuckDB 1.5.5 can read
needs no second interpreter.

`staging` and `marts` are not moved (dbt rebuilds them), nor dlt's emptied merge staging
(`_dlt_staging_*`); dlt's `_dlt_loads`, `_dlt_version` and `_dlt_pipeline_state` are, so
its load history, schema versions and state carry on. A lake table that already holds
other rows is left alone unless `--replace` is given; one that holds the same rows is
reported as already there, so a second run changes nothing.

    bash scripts/migrate_warehouse.sh [data/warehouse.duckdb] [--replace]

Exit status: 0 when every table matches, 1 on any mismatch or refusal, 2 on bad input.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.errors import ConfigError
from pipelines.lake import LAKE_NAME, Lake

DEFAULT_SOURCE = "data/warehouse.duckdb"
# What the previous version pinned; used when the file header names no release.
OLD_DUCKDB_VERSION = "2.0.0"
# Types Parquet would silently narrow (HUGEINT becomes DOUBLE, TIMETZ loses its offset):
# the export writes them as text and the lake's typed columns cast them back exactly.
_TEXT_IN_PARQUET = ("HUGEINT", "UHUGEINT", "VARINT", "BIGNUM", "BIT", "TIME WITH TIME ZONE")


def export_warehouse(source: str, out_dir: str, text_types: list[str]) -> None:
    """Write every table worth keeping to Parquet plus `manifest.json`.

    It also runs inside the old DuckDB's interpreter (its source is sent there), so it
    imports only the standard library and duckdb, and defines what it needs itself.
    """
    import json
    from pathlib import Path

    import duckdb

    def ident(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def rebuilt_elsewhere(schema: str) -> str | None:
        if schema in ("staging", "marts"):
            return "dbt rebuilds it"
        if schema.startswith("_dlt_staging_"):
            return "dlt's merge staging, emptied after every load"
        return None

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(source, read_only=True)
    db = con.execute("select current_database()").fetchone()[0]
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = ? and not temporary order by 1, 2",
        [db],
    ).fetchall()
    views = con.execute(
        "select schema_name, view_name from duckdb_views() "
        "where database_name = ? and not internal and not temporary order by 1, 2",
        [db],
    ).fetchall()
    keys: dict[tuple[str, str], list[str]] = {}
    for schema in sorted({s for s, t in tables if t == "_dlt_version"}):
        # dlt's stored schema holds the key hints; the newest version of each schema wins.
        try:
            stored = con.execute(
                f"select schema from {ident(schema)}._dlt_version "
                "qualify row_number() over (partition by schema_name order by inserted_at desc) = 1"
            ).fetchall()
        except duckdb.Error:
            stored = []
        for (text,) in stored:
            try:
                dlt_tables = json.loads(text).get("tables", {})
            except (TypeError, ValueError):
                continue
            for table, spec in dlt_tables.items():
                hints = spec.get("columns", {})
                found = [c for c, h in hints.items() if h.get("primary_key")]
                found = found or [c for c, h in hints.items() if h.get("unique")]
                if found:
                    keys[(schema, table)] = found
        keys.setdefault((schema, "_dlt_loads"), ["load_id"])
        keys.setdefault((schema, "_dlt_version"), ["schema_name", "version_hash"])
    for schema, table, names in con.execute(
        "select schema_name, table_name, constraint_column_names from duckdb_constraints() "
        "where database_name = ? and constraint_type = 'PRIMARY KEY'",
        [db],
    ).fetchall():
        keys[(schema, table)] = list(names)

    manifest: dict = {"duckdb": duckdb.__version__, "tables": [], "skipped": []}
    for schema, name in views:
        manifest["skipped"].append(
            {"name": f"{schema}.{name}", "kind": "view", "why": rebuilt_elsewhere(schema)}
        )
    for index, (schema, table) in enumerate(tables):
        why = rebuilt_elsewhere(schema)
        if why:
            manifest["skipped"].append({"name": f"{schema}.{table}", "kind": "table", "why": why})
            continue
        columns = con.execute(
            "select column_name, data_type, is_nullable from duckdb_columns() "
            "where database_name = ? and schema_name = ? and table_name = ? "
            "order by column_index",
            [db, schema, table],
        ).fetchall()
        select = ", ".join(
            f"{ident(c)}::varchar as {ident(c)}" if t in text_types else ident(c)
            for c, t, _ in columns
        )
        path = out / f"{index:05d}.parquet"
        relation = f"{ident(schema)}.{ident(table)}"
        con.execute(f"copy (select {select} from {relation}) to '{path}' (format parquet)")
        names = [c for c, _, _ in columns]
        manifest["tables"].append(
            {
                "schema": schema,
                "table": table,
                "rows": con.execute(f"select count(*) from {relation}").fetchone()[0],
                "columns": [[c, t, bool(n)] for c, t, n in columns],
                "keys": [k for k in keys.get((schema, table), []) if k in names],
                "file": path.name,
            }
        )
    con.close()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def written_by(source: Path) -> str | None:
    """The DuckDB release named in the file's header (`v2.0.0`), if it names one."""
    with source.open("rb") as fh:
        header = fh.read(84)
    if header[8:12] != b"DUCK":
        raise ConfigError(f"{source} is not a DuckDB database file")
    found = re.fullmatch(rb"v(\d+\.\d+\.\d+)", header[52:84].rstrip(b"\0"))
    return found.group(1).decode() if found else None


def readable_here(source: Path) -> bool:
    """Whether this DuckDB opens the file; too new a storage version means it does not."""
    try:
        duckdb.connect(str(source), read_only=True).close()
    except duckdb.IOException as exc:
        if "version number" in str(exc):
            return False
        raise
    return True


def old_duckdb_python(venv: Path, version: str) -> Path:
    """A Python with `duckdb==version`: the one already in `venv`, or a new venv there."""
    python = venv / "bin" / "python"
    check = f"import duckdb, sys; sys.exit(duckdb.__version__ != {version!r})"
    if python.exists() and subprocess.run([python, "-c", check]).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"duckdb=={version}",
        ],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        said = (pip.stderr or pip.stdout).strip().splitlines()[-1:]
        raise ConfigError(
            f"could not install duckdb=={version} into {venv} (pip: {' '.join(said)}); "
            "reading the old file needs the DuckDB release that wrote it, from PyPI"
        )
    return python


def export(source: Path, out_dir: Path, venv: Path | None) -> dict:
    """Export with this DuckDB when it can read the file, else with the one that wrote it."""
    started = time.monotonic()
    if readable_here(source):
        export_warehouse(str(source), str(out_dir), list(_TEXT_IN_PARQUET))
        print(
            f"read {source} with DuckDB {duckdb.__version__} ({time.monotonic() - started:.1f} s)"
        )
    else:
        version = written_by(source) or OLD_DUCKDB_VERSION
        with tempfile.TemporaryDirectory(prefix="duckdb-old-") as scratch:
            python = old_duckdb_python(venv or Path(scratch) / "venv", version)
            ready = time.monotonic()
            code = inspect.getsource(export_warehouse) + (
                "\nimport json, sys\n"
                "export_warehouse(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))\n"
            )
            done = subprocess.run(
                [python, "-I", "-c", code, str(source), str(out_dir), json.dumps(_TEXT_IN_PARQUET)],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise ConfigError(f"DuckDB {version} could not export {source}: {done.stderr}")
        print(
            f"read {source} with DuckDB {version} in a separate venv "
            f"(venv {ready - started:.1f} s, export {time.monotonic() - ready:.1f} s)"
        )
    return json.loads((out_dir / "manifest.json").read_text())


@dataclass
class Moved:
    """One table's outcome: rows in the old file, the Parquet and the lake, and checksums."""

    name: str
    keys: list[str]
    rows_old: int
    rows_export: int
    rows_new: int
    checksums_equal: bool
    status: str

    @property
    def match(self) -> bool:
        return self.rows_old == self.rows_export == self.rows_new and self.checksums_equal


def fingerprint(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> tuple:
    """Row count and an order-free checksum of every column (a sum, so duplicates count)."""
    hashed = ", ".join(ident(c) for c in columns)
    return con.execute(
        f"select count(*), coalesce(sum(hash({hashed})::hugeint), 0) from {relation}"
    ).fetchone()


def move_table(
    con: duckdb.DuckDBPyConnection, entry: dict, export_dir: Path, replace: bool
) -> Moved:
    """Create one table in the lake from its Parquet unless it is there; then compare."""
    schema, table = entry["schema"], entry["table"]
    target = f"{ident(schema)}.{ident(table)}"
    names = [c for c, _, _ in entry["columns"]]
    typed = ", ".join(f"cast({ident(c)} as {t}) as {ident(c)}" for c, t, _ in entry["columns"])
    parquet = f"(select {typed} from read_parquet('{export_dir / entry['file']}'))"
    exported = fingerprint(con, parquet, names)
    exists = con.execute(
        "select count(*) from duckdb_tables() "
        "where database_name = ? and schema_name = ? and table_name = ?",
        [LAKE_NAME, schema, table],
    ).fetchone()[0]
    status = "moved"
    if exists:
        present = fingerprint(con, target, names)
        if present == exported:
            status = "already there"
        elif present[0] and not replace:
            status = f"refused: the lake holds {present[0]} other rows (--replace)"
        else:
            status = "replaced"
    if status in ("moved", "replaced"):
        columns = ", ".join(
            f"{ident(c)} {t}" + ("" if nullable else " not null")
            for c, t, nullable in entry["columns"]
        )
        con.execute("begin")
        con.execute(f"create schema if not exists {ident(schema)}")
        if exists:
            con.execute(f"drop table {target}")
        con.execute(f"create table {target} ({columns})")
        con.execute(
            f"insert into {target} select * from read_parquet(?)", [str(export_dir / entry["file"])]
        )
        con.execute("commit")
    landed = fingerprint(con, target, names)
    return Moved(
        name=f"{schema}.{table}",
        keys=entry["keys"],
        rows_old=entry["rows"],
        rows_export=exported[0],
        rows_new=landed[0],
        checksums_equal=landed[1] == exported[1],
        status=status,
    )


def report(moved: list[Moved], skipped: list[dict]) -> None:
    """The comparison table, then what was left out and why."""
    width = max([len("table"), *(len(m.name) for m in moved)])
    print(f"{'table':<{width}}  {'rows old':>9}  {'rows new':>9}  match  keys / status")
    for m in moved:
        keys = ", ".join(m.keys) or "(all columns)"
        print(
            f"{m.name:<{width}}  {m.rows_old:>9}  {m.rows_new:>9}  "
            f"{'yes' if m.match else 'NO':<5}  {keys} / {m.status}"
        )
    for item in skipped:
        print(
            f"not moved: {item['name']} ({item['kind']}{', ' + item['why'] if item['why'] else ''})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", default=DEFAULT_SOURCE, type=Path)
    parser.add_argument(
        "--replace", action="store_true", help="overwrite lake tables that hold other rows"
    )
    parser.add_argument(
        "--old-duckdb-venv",
        type=Path,
        help="keep (or reuse) the venv with the old DuckDB here; default: a throwaway one",
    )
    parser.add_argument(
        "--export-dir", type=Path, help="keep the Parquet export and manifest.json here"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    if not args.source.is_file():
        print(f"error: no old warehouse file at {args.source}; pass its path", file=sys.stderr)
        return 2
    try:
        lake = Lake.from_settings()
        written_by(args.source)
        with tempfile.TemporaryDirectory(
            prefix="warehouse-export-", dir=args.source.resolve().parent
        ) as scratch:
            export_dir = args.export_dir or Path(scratch)
            manifest = export(args.source, export_dir, args.old_duckdb_venv)
            loading = time.monotonic()
            with lake.connect() as con:
                moved = [move_table(con, e, export_dir, args.replace) for e in manifest["tables"]]
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    where = lake.sqlite_file or "the PostgreSQL catalog"
    print(f"into the lake at {where} ({time.monotonic() - loading:.1f} s)")
    report(moved, manifest["skipped"])
    bad = [m for m in moved if not m.match]
    total = f"{time.monotonic() - started:.1f} s"
    if bad:
        print(f"MISMATCH in {len(bad)} of {len(moved)} tables ({total}); the old file is untouched")
        return 1
    if all(m.status == "already there" for m in moved):
        print(f"everything is already in the lake: {len(moved)} tables match ({total})")
    else:
        print(f"all {len(moved)} tables match ({total}); the old file is untouched")
    return 0


if __name__ == "__main__":
    sys.exit(main())
