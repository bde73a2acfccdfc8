"""The SQL model runner: discovers `warehouse/<layer>/*.sql`, builds them in DuckDB, tests them.

A model is one SELECT in `warehouse/<layer>/<name>.sql`; it becomes the table `<layer>.<name>`.
Its description, column docs and tests live in the layer's YAML (`_<layer>.yml`, dbt-like shape).
Dependencies are read from the SQL with sqlglot so they are never declared twice, and every
column the SQL produces must be documented (checked statically, before anything runs).

Pure on purpose: no Dagster, no HTTP. `assets/warehouse.py` turns these models into assets.
"""

from __future__ import annotations

import graphlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import sqlglot
import yaml
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

MODELS_ROOT = Path(__file__).parent
LAYERS = ("staging", "marts")
DIALECT = "duckdb"

Severity = Literal["warn", "error"]
Relation = tuple[str, str]  # (schema, table)

COLUMN_TESTS = ("not_null", "unique", "accepted_values", "relationships")
MODEL_TESTS = ("unique_combination",)


class ModelError(ValueError):
    """A model's SQL or YAML is inconsistent; raised while loading, before anything runs."""


@dataclass(frozen=True)
class Column:
    """A documented output column; the description becomes its `COMMENT ON COLUMN`."""

    name: str
    description: str


@dataclass(frozen=True)
class ModelTest:
    """One data test; `sql` returns the failing rows, so zero rows means it passed."""

    name: str
    kind: str
    columns: tuple[str, ...]
    description: str
    severity: Severity
    sql: str


@dataclass(frozen=True)
class Model:
    """One model: the SQL as written, its docs and tests from YAML, its deps read from the SQL."""

    schema: str
    name: str
    path: Path
    sql: str
    description: str
    columns: tuple[Column, ...]
    tests: tuple[ModelTest, ...]
    deps: tuple[Relation, ...]

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class BuildResult:
    """What a build reports back (row count and seconds) for run metadata."""

    row_count: int
    seconds: float


@dataclass(frozen=True)
class ModelTestResult:
    """A test's outcome: how many rows fail and the first few, for a person to act on."""

    test: ModelTest
    failing_rows: int
    sample_columns: tuple[str, ...]
    sample_rows: tuple[tuple[Any, ...], ...]

    @property
    def passed(self) -> bool:
        return self.failing_rows == 0


# --- loading -------------------------------------------------------------------------------


def load_models(root: Path = MODELS_ROOT) -> list[Model]:
    """Every model under `root`, validated and in build order (dependencies first).

    Raises ModelError for any model whose SQL and YAML disagree, so a bad model fails when
    definitions load instead of in the middle of a nightly run.
    """
    parsed: list[tuple[Path, str, exp.Query]] = []
    docs: dict[Relation, Mapping[str, Any]] = {}
    for layer in LAYERS:
        folder = root / layer
        for sql_path in sorted(folder.glob("*.sql")):
            sql = _read_sql(sql_path)
            parsed.append((sql_path, sql, _parse_select(sql, sql_path)))
        docs.update(_read_docs(folder, layer))

    sql_relations = {(path.parent.name, path.stem) for path, _, _ in parsed}
    if orphans := sorted(set(docs) - sql_relations):
        raise ModelError(f"documented in YAML but no .sql file: {_names(orphans)}")

    models, trees = [], {}
    for path, sql, tree in parsed:
        relation = (path.parent.name, path.stem)
        if relation not in docs:
            raise ModelError(f"{path}: no entry in the layer's YAML (every model is documented)")
        models.append(_make_model(path, sql, tree, docs[relation]))
        trees[relation] = tree
    ordered = topological_order(models)

    # Known models' documented columns let `select *` from them resolve statically.
    known_columns: dict[str, dict[str, dict[str, str]]] = {}
    for model in ordered:
        produced = output_columns(trees[(model.schema, model.name)], known_columns)
        _check_documented(model, produced)
        known_columns.setdefault(model.schema, {})[model.name] = {
            column.name: "unknown" for column in model.columns
        }
    return ordered


def sql_dependencies(tree: exp.Expression) -> tuple[Relation, ...]:
    """The `schema.table` relations a query reads, CTE names excluded, sorted.

    Unqualified names that are not CTEs are rejected: they would silently resolve to `main`.
    """
    cte_names = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    deps: set[Relation] = set()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):  # table functions: unnest(), range()...
            continue
        if table.db:
            deps.add((table.db, table.name))
        elif table.name not in cte_names:
            raise ModelError(f"unqualified table {table.name!r}: write schema.table")
    return tuple(sorted(deps))


def output_columns(
    tree: exp.Query, known_columns: Mapping[str, Mapping[str, Mapping[str, str]]]
) -> tuple[str, ...]:
    """The column names the query produces, resolving `*` through CTEs and known models."""
    names = tree.named_selects
    if "*" in names:
        try:
            names = qualify(
                tree.copy(),
                dialect=DIALECT,
                schema=MappingSchema(known_columns, dialect=DIALECT),
                validate_qualify_columns=False,
                allow_partial_qualification=True,
            ).named_selects
        except SqlglotError as error:
            raise ModelError(f"cannot resolve the selected columns: {error}") from error
    if "*" in names:
        raise ModelError("the final select reads `*` from a raw table: list the columns")
    return tuple(names)


def topological_order(models: Iterable[Model]) -> list[Model]:
    """Models ordered so each comes after the models its SQL reads (raw tables ignored)."""
    by_relation = {(model.schema, model.name): model for model in models}
    sorter: graphlib.TopologicalSorter[Relation] = graphlib.TopologicalSorter()
    for relation, model in by_relation.items():
        sorter.add(relation, *(dep for dep in model.deps if dep in by_relation))
    try:
        return [by_relation[relation] for relation in sorter.static_order()]
    except graphlib.CycleError as error:
        raise ModelError(f"models depend on each other in a cycle: {error.args[1]}") from error


def _read_sql(path: Path) -> str:
    return path.read_text().strip().rstrip(";").rstrip()


def _parse_select(sql: str, path: Path) -> exp.Query:
    try:
        statements = [tree for tree in sqlglot.parse(sql, read=DIALECT) if tree is not None]
    except SqlglotError as error:
        raise ModelError(f"{path}: cannot parse: {error}") from error
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise ModelError(f"{path}: a model is exactly one SELECT")
    return statements[0]


def _read_docs(folder: Path, layer: str) -> dict[Relation, Mapping[str, Any]]:
    docs: dict[Relation, Mapping[str, Any]] = {}
    for yml_path in sorted(folder.glob("*.yml")):
        content = yaml.safe_load(yml_path.read_text()) or {}
        for entry in content.get("models", []):
            relation = (layer, entry["name"])
            if relation in docs:
                raise ModelError(f"{yml_path}: {entry['name']} is documented twice")
            docs[relation] = entry
    return docs


def _make_model(path: Path, sql: str, tree: exp.Query, doc: Mapping[str, Any]) -> Model:
    schema, name = path.parent.name, path.stem
    relation = f"{schema}.{name}"
    columns = tuple(
        Column(column["name"], _required_text(column, "description", relation))
        for column in doc.get("columns", [])
    )
    column_names = {column.name for column in columns}
    raw_tests = [
        (column["name"], test)
        for column in doc.get("columns", [])
        for test in column.get("tests", [])
    ]
    raw_tests += [(None, test) for test in doc.get("tests", [])]
    specs = [_test_spec(relation, column, test, column_names) for column, test in raw_tests]
    key_columns = _key_columns(specs)
    tests = tuple(_make_test(relation, spec, key_columns) for spec in specs)
    if len({test.name for test in tests}) != len(tests):
        raise ModelError(f"{relation}: two tests share a name")
    try:
        deps = sql_dependencies(tree)
    except ModelError as error:
        raise ModelError(f"{path}: {error}") from error
    return Model(
        schema=schema,
        name=name,
        path=path,
        sql=sql,
        description=_required_text(doc, "description", relation),
        columns=columns,
        tests=tests,
        deps=deps,
    )


def _required_text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ModelError(f"{where}: {entry.get('name', where)} needs a {key}")
    return value.strip()


def _check_documented(model: Model, produced: Sequence[str]) -> None:
    documented = [column.name for column in model.columns]
    undocumented = sorted(set(produced) - set(documented))
    missing = sorted(set(documented) - set(produced))
    problems = []
    if undocumented:
        problems.append(f"produces undocumented columns {undocumented}")
    if missing:
        problems.append(f"documents columns its SQL does not produce {missing}")
    if problems:
        raise ModelError(f"{model.relation}: " + "; ".join(problems))


# --- tests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TestSpec:
    kind: str
    columns: tuple[str, ...]
    args: Mapping[str, Any]
    severity: Severity


def _test_spec(
    relation: str, column: str | None, raw: str | Mapping[str, Any], known: set[str]
) -> _TestSpec:
    """Normalise `not_null` / `{accepted_values: {values: [...], severity: warn}}` entries."""
    if isinstance(raw, str):
        kind, args = raw, {}
    elif isinstance(raw, Mapping) and len(raw) == 1:
        kind, args = next(iter(raw.items()))
        args = dict(args or {})
    else:
        raise ModelError(f"{relation}: a test is a name or a one-key mapping, got {raw!r}")
    allowed = COLUMN_TESTS if column else MODEL_TESTS
    if kind not in allowed:
        where = f"column {column}" if column else "model level"
        raise ModelError(f"{relation}: unknown test {kind!r} at {where}; allowed: {allowed}")
    severity = args.pop("severity", "error")
    if severity not in ("warn", "error"):
        raise ModelError(f"{relation}: severity is warn or error, got {severity!r}")
    columns = (column,) if column else tuple(args.pop("columns", ()))
    if not columns or not set(columns) <= known:
        raise ModelError(f"{relation}: test {kind} names undocumented columns {columns}")
    required = {"accepted_values": {"values"}, "relationships": {"to", "field"}}.get(kind, set())
    if set(args) != required:
        raise ModelError(f"{relation}: test {kind} takes {sorted(required)}, got {sorted(args)}")
    if kind == "accepted_values" and not isinstance(args["values"], list):
        raise ModelError(f"{relation}: accepted_values.values is a list")
    return _TestSpec(kind, columns, args, severity)


def _key_columns(specs: Sequence[_TestSpec]) -> tuple[str, ...]:
    """The columns that identify a row (the grain), shown beside each failing row."""
    for kind in ("unique_combination", "unique"):
        for spec in specs:
            if spec.kind == kind:
                return spec.columns
    return ()


def _make_test(relation: str, spec: _TestSpec, key_columns: tuple[str, ...]) -> ModelTest:
    cols = spec.columns
    table = _qualified(relation)
    column = _ident(cols[0])
    shown = ", ".join(_ident(c) for c in dict.fromkeys((*key_columns, *cols))) or "*"
    if spec.kind == "not_null":
        name = f"not_null__{cols[0]}"
        description = f"{cols[0]} is never null"
        sql = f"select {shown}\nfrom {table}\nwhere {column} is null"
    elif spec.kind == "unique":
        name = f"unique__{cols[0]}"
        description = f"{cols[0]} is unique (one failing row per duplicated value)"
        sql = (
            f"select {column}, count(*) as n_records\nfrom {table}\n"
            f"where {column} is not null\ngroup by {column}\nhaving count(*) > 1"
        )
    elif spec.kind == "accepted_values":
        values = list(spec.args["values"])
        literals = ", ".join(_literal(value) for value in values)
        name = f"accepted_values__{cols[0]}"
        description = f"{cols[0]} is one of {values}"
        sql = (
            f"select {shown}\nfrom {table}\n"
            f"where {column} is not null and {column} not in ({literals})"
        )
    elif spec.kind == "relationships":
        parent, field = str(spec.args["to"]), str(spec.args["field"])
        if parent.count(".") != 1:
            raise ModelError(f"{relation}: relationships.to is schema.table, got {parent!r}")
        name = f"relationships__{cols[0]}__{parent.replace('.', '__')}"
        description = f"every {cols[0]} exists as {parent}.{field}"
        sql = (
            f"select {shown}\nfrom {table} as child\nwhere child.{column} is not null\n"
            f"  and not exists (\n    select 1 from {_qualified(parent)} as parent\n"
            f"    where parent.{_ident(field)} = child.{column}\n  )"
        )
    else:  # unique_combination
        grain = ", ".join(_ident(c) for c in cols)
        name = "unique_combination__" + "__".join(cols)
        description = f"one row per ({', '.join(cols)})"
        sql = (
            f"select {grain}, count(*) as n_records\nfrom {table}\n"
            f"group by {grain}\nhaving count(*) > 1"
        )
    return ModelTest(name, spec.kind, cols, description, spec.severity, sql)


def _ident(name: str) -> str:
    return exp.to_identifier(name).sql(DIALECT)


def _qualified(relation: str) -> str:
    return ".".join(_ident(part) for part in relation.split("."))


def _literal(value: object) -> str:
    return exp.convert(value).sql(DIALECT)


def _names(relations: Iterable[Relation]) -> str:
    return ", ".join(".".join(relation) for relation in relations)


# --- running -------------------------------------------------------------------------------


def build_model(con: duckdb.DuckDBPyConnection, model: Model) -> BuildResult:
    """Replace the model's table and its comments in one transaction.

    If the SELECT fails, the rollback leaves the previous table (and its comments) in place.
    """
    missing = [".".join(dep) for dep in model.deps if not _exists(con, dep)]
    if missing:
        raise ModelError(
            f"{model.relation} reads {', '.join(missing)}, which does not exist yet: "
            f"materialize {' and '.join(m.replace('.', '/') for m in missing)} first "
            "(any one partition creates the table), then rebuild this model"
        )
    started = time.perf_counter()
    table = _qualified(model.relation)
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {_ident(model.schema)}")
        con.execute(f"create or replace table {table} as\n{model.sql}\n")
        con.execute(f"comment on table {table} is {_literal(model.description)}")
        for column in model.columns:
            con.execute(
                f"comment on column {table}.{_ident(column.name)} is {_literal(column.description)}"
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    (row_count,) = con.execute(f"select count(*) from {table}").fetchone() or (0,)
    return BuildResult(row_count=row_count, seconds=time.perf_counter() - started)


def _exists(con: duckdb.DuckDBPyConnection, relation: Relation) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        list(relation),
    ).fetchone()
    return bool(found and found[0])


def run_tests(
    con: duckdb.DuckDBPyConnection, model: Model, sample_size: int = 5
) -> list[ModelTestResult]:
    """Run every test of a model: count the failing rows and keep a few as a sample."""
    results = []
    for test in model.tests:
        (failing,) = con.execute(f"select count(*) from (\n{test.sql}\n)").fetchone() or (0,)
        columns: tuple[str, ...] = ()
        rows: tuple[tuple[Any, ...], ...] = ()
        if failing:
            cursor = con.execute(f"{test.sql}\nlimit {int(sample_size)}")
            columns = tuple(d[0] for d in cursor.description or ())
            rows = tuple(tuple(row) for row in cursor.fetchall())
        results.append(ModelTestResult(test, failing, columns, rows))
    return results


def table_columns(
    con: duckdb.DuckDBPyConnection, schema: str, table: str
) -> list[tuple[str, str, str | None]]:
    """(name, DuckDB type, comment) of a built table, in column order."""
    rows = con.execute(
        "select column_name, data_type, comment from duckdb_columns()\n"
        "where schema_name = ? and table_name = ?\norder by column_index",
        [schema, table],
    ).fetchall()
    return [(name, data_type, comment) for name, data_type, comment in rows]
