"""dlt's ducklake destination, tuned for this lake: how dlt loads into it.

Four changes, each through one of dlt's own extension points, all else dlt's own:
- the connection pool checks the extensions' signatures once per process, not per job;
- the destination's capabilities are worked out once, not on each of dlt's ~13 asks a run;
- a delete-insert merge reads the normalized Parquet load files where they are, instead of
  first copying them into a staging table: every row is written to the lake once;
- its deletes go through the merge key's distinct values, one key at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
from dlt.common.configuration import configspec
from dlt.common.destination.capabilities import DestinationCapabilitiesContext
from dlt.common.destination.client import FollowupJobRequest, LoadJob
from dlt.common.destination.typing import PreparedTableSchema
from dlt.common.schema.utils import get_columns_names_with_prop
from dlt.common.storages.load_package import LoadJobInfo, ParsedLoadJobFileName
from dlt.destinations import ducklake
from dlt.destinations.impl.duckdb.configuration import DuckDbConnectionPool
from dlt.destinations.impl.ducklake.configuration import (
    DuckLakeClientConfiguration,
    DuckLakeCredentials,
)
from dlt.destinations.impl.ducklake.ducklake import (
    DuckLakeClient,
    DuckLakeCopyJob,
    DuckLakeMergeFollowupJob,
)
from dlt.destinations.job_impl import FollowupJobRequestImpl
from dlt.destinations.sql_client import SqlClientBase
from dlt.destinations.sql_jobs import SqlJobCreationException

from .lake import verify_extension_signatures

# A merge job's distinct merge-key values (a temp table: each load job has its own DuckDB).
MERGE_KEYS_TABLE = "_lake_merge_keys"
# What a file-fed merge reads in place of the staging table: the staging table's rows (a job
# not deferred, e.g. a JSONL file) plus every deferred Parquet file's.
STAGED_VIEW = "_lake_staged"


class _VerifiedOncePool(DuckDbConnectionPool):
    """dlt's ducklake pool, its extensions' signatures checked once per process, not per job.

    dlt opens a new DuckDB for every load job (`always_open_connection`: each client attaches
    and detaches the lake), and each new DuckDB hashes the 70 MB of ducklake and sqlite
    extensions again to check their signatures, about 150 ms a job. dlt hands `duckdb.connect`
    no start-up setting but `custom_user_agent`, and `allow_unsigned_extensions` cannot be SET
    later, so this pool opens the DuckDB and lets dlt's `borrow_conn` set it up as a new one.
    """

    def borrow_conn(
        self,
        global_config: dict | None = None,
        local_config: dict | None = None,
        pragmas: list[str] | None = None,
    ) -> duckdb.DuckDBPyConnection:
        verify_extension_signatures()
        with self._conn_lock:
            # dlt applies its settings to a connection it was handed only on a first borrow.
            outstanding, self._conn_borrows = self._conn_borrows, 0
            self._conn = duckdb.connect(config={"allow_unsigned_extensions": True})
            try:
                return super().borrow_conn(global_config, local_config, pragmas)
            finally:
                self._conn = None  # the borrower's now: `return_conn` closes it
                self._conn_borrows += outstanding


class _LakeMergeJob(DuckLakeMergeFollowupJob):
    """dlt's delete-insert, deleting by the merge key's distinct staged values.

    dlt deletes `WHERE EXISTS (SELECT 1 FROM staging WHERE pk = .. OR mk = ..)`. DuckDB
    cannot hash-join an OR, and for a merge key with few values (KeyAPI: one per ranking
    slice) it estimates its DISTINCT as large as the staging table, so it builds the join's
    hash table on the stored rows instead: 1.5 GiB re-loading 5M rows. The keys go to a temp
    table first (its size then known exactly), and each key deletes on its own: the same rows.
    """

    @classmethod
    def gen_merge_sql(
        cls, table_chain: Sequence[PreparedTableSchema], sql_client: SqlClientBase[Any]
    ) -> list[str]:
        sql = super().gen_merge_sql(table_chain, sql_client)
        merge_keys = get_columns_names_with_prop(table_chain[0], "merge_key")
        if merge_keys and any(MERGE_KEYS_TABLE in statement for statement in sql):
            _, staging = sql_client.get_qualified_table_names(table_chain[0]["name"])
            keys = ", ".join(sql_client.escape_column_name(key) for key in merge_keys)
            sql.insert(
                0,
                f"CREATE OR REPLACE TEMP TABLE {MERGE_KEYS_TABLE} AS "
                f"SELECT DISTINCT {keys} FROM {staging};",
            )
        return sql

    @classmethod
    def from_load_files(
        cls,
        table_chain: Sequence[PreparedTableSchema],
        sql_client: SqlClientBase[Any],
        files: Sequence[str],
    ) -> FollowupJobRequestImpl:
        """`from_table_chain`, reading the root's staged rows from `STAGED_VIEW` over `files`."""
        _, staging = sql_client.get_qualified_table_names(table_chain[0]["name"])
        paths = ", ".join("'" + path.replace("'", "''") + "'" for path in files)
        view = (
            f"CREATE OR REPLACE TEMP VIEW {STAGED_VIEW} AS SELECT * FROM {staging} "
            f"UNION ALL BY NAME SELECT * FROM read_parquet([{paths}], union_by_name = true);"
        )
        try:
            sql = [
                " ".join(statement.replace(staging, STAGED_VIEW).splitlines())
                for statement in cls.generate_sql(table_chain, sql_client)
            ]
            file_info = ParsedLoadJobFileName(
                table_chain[0]["name"], ParsedLoadJobFileName.new_file_id(), 0, "sql"
            )
            job = cls(file_info.file_name())
            job._save_text_file("\n".join([view, *sql]))
        except Exception as e:
            raise SqlJobCreationException(e, table_chain) from e
        return job

    @classmethod
    def gen_key_table_clauses(
        cls,
        root_table_name: str,
        staging_root_table_name: str,
        primary_keys: Sequence[str],
        merge_keys: Sequence[str],
        for_delete: bool,
        source_filter: str | None = None,
    ) -> list[str]:
        if source_filter:
            return super().gen_key_table_clauses(
                root_table_name,
                staging_root_table_name,
                primary_keys,
                merge_keys,
                for_delete,
                source_filter=source_filter,
            )
        clauses = []
        for keys, staged in (
            (primary_keys, staging_root_table_name),
            (merge_keys, MERGE_KEYS_TABLE),
        ):
            if keys:
                match = " AND ".join(f"d.{key} = s.{key}" for key in keys)
                clauses.append(
                    f"FROM {root_table_name} as d WHERE EXISTS (SELECT 1 FROM {staged} as s "
                    f"WHERE {match})"
                )
        return clauses


def merges_from_files(table: PreparedTableSchema) -> bool:
    """A root table merged by delete-insert: its Parquet load files feed the merge directly."""
    return (
        table.get("write_disposition") == "merge"
        and table.get("x-merge-strategy", "delete-insert") == "delete-insert"  # type: ignore[misc]
        and not table.get("parent")
    )


class _DeferredFileJob(DuckLakeCopyJob):
    """A load file left where it is: the table's merge job reads it (`_LakeClient`)."""

    def run(self) -> None:
        return None


class _LakeClient(DuckLakeClient):
    """dlt's ducklake client whose delete-insert merges read the Parquet load files in place.

    dlt copies every load file into a staging table, merges from it, then empties it with a
    full DELETE: each row is written to the lake twice and deleted once. Here a root table's
    Parquet file is not copied; its merge reads `STAGED_VIEW` (the staging table's rows and
    every file's, by name) wherever dlt's SQL names the staging table. The files stay in the
    load package until it completes, so a merge retried after a crash reads them again.
    """

    def create_load_job(
        self, table: PreparedTableSchema, file_path: str, load_id: str, restore: bool = False
    ) -> LoadJob:
        parsed = ParsedLoadJobFileName.parse(file_path)
        if parsed.file_format == "parquet" and merges_from_files(table):
            return _DeferredFileJob(file_path)
        return super().create_load_job(table, file_path, load_id, restore)

    def create_table_chain_completed_followup_jobs(
        self,
        table_chain: Sequence[PreparedTableSchema],
        completed_table_chain_jobs: Sequence[LoadJobInfo] | None = None,
    ) -> list[FollowupJobRequest]:
        root = table_chain[0]
        files = [
            job.file_path
            for job in completed_table_chain_jobs or ()
            if job.job_file_info.table_name == root["name"]
            and job.job_file_info.file_format == "parquet"
        ]
        if not (files and merges_from_files(root)):
            return super().create_table_chain_completed_followup_jobs(
                table_chain, completed_table_chain_jobs
            )
        return [_LakeMergeJob.from_load_files(table_chain, self.sql_client, files)]

    def _create_merge_followup_jobs(
        self, table_chain: Sequence[PreparedTableSchema]
    ) -> list[FollowupJobRequest]:
        return [_LakeMergeJob.from_table_chain(table_chain, self.sql_client)]


@configspec(init=False)
class LakeCredentials(DuckLakeCredentials):
    def on_resolved(self) -> None:
        self.conn_pool = _VerifiedOncePool(self, always_open_connection=True)


@configspec
class _LakeClientConfiguration(DuckLakeClientConfiguration):
    credentials: LakeCredentials = None


class LakeDestination(ducklake):
    """dlt's ducklake destination with `_VerifiedOncePool` and `_LakeClient`, named and typed
    as dlt's own."""

    @property
    def destination_type(self) -> str:
        return ducklake().destination_type

    def capabilities(
        self, config: Any = None, naming: Any = None
    ) -> DestinationCapabilitiesContext:
        """Without `config`, dlt resolves the whole destination configuration on each call: 13
        calls of ~45 ms a run, a third of a 100,000-row load. One destination object's answer
        does not change, so it is kept per naming convention and handed out as a copy (the
        pipeline edits the one it gets)."""
        if config is not None:
            return super().capabilities(config, naming)
        kept = self.__dict__.setdefault("_capabilities_by_naming", {})
        key = None if naming is None else (type(naming), naming.max_length)
        if key not in kept:
            kept[key] = super().capabilities(None, naming)
        return kept[key].copy()

    @property
    def spec(self) -> type:
        return _LakeClientConfiguration

    @property
    def client_class(self) -> type:
        return _LakeClient
