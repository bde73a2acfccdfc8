"""The fetch-and-merge base of the snapshot vendors (Trendtrack, EnsembleData) and their source.

Those vendors keep no history: a run pulls today's state of every watch entry, the same row
may come from several answers (a listing and an item's detail, two searches finding one
post), and a parent's child list (hashtags, media, follows) replaces the one stored. The
harvest holds each table's rows by primary key, keeping every non-null value of the answers
that carried the row; child lists per parent, an empty one becoming one tombstone row (dlt's
`hard_delete`) that removes the stored children. It fetches once, lazily, whichever table dlt
extracts first, and a failure it cannot retry stops the run after the complete watch entries:
the report's `stopped_by` says why. A vendor keeps only its own walks (`fetch`).
"""

from __future__ import annotations

import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
from dlt.sources import DltResource

from .errors import VendorError
from .fields import merge_resource
from .http import ClientSettings, VendorClient, VendorProfile
from .report import RunReport

logger = logging.getLogger(__name__)

Row = dict[str, Any]
# table -> (primary key, merge key replaced as a unit or None)
Keys = Mapping[str, tuple[tuple[str, ...], tuple[str, ...] | None]]
TOMBSTONE = "deleted"  # dlt `hard_delete` column: a row that only removes its parent's rows


@dataclass(kw_only=True)
class SnapshotHarvest(ABC):
    """Everything one source run fetched, per table, deduplicated on the primary key.

    Subclasses are dataclasses naming `make_client` and `report` among their fields, and
    set `schemas` and `keys` (the tables) and `vendor` (for the log).
    """

    vendor: ClassVar[str]
    schemas: ClassVar[Mapping[str, pa.Schema]]
    keys: ClassVar[Keys]
    if TYPE_CHECKING:
        make_client: Callable[[], VendorClient]
        report: RunReport

    tables: dict[str, dict[tuple[Any, ...], Row]] = field(default_factory=dict)
    # table -> parent (its merge key values) -> the parent's whole child list, maybe empty
    children: dict[str, dict[tuple[Any, ...], list[Row]]] = field(default_factory=dict)
    _done: bool = False

    def rows(self, table: str) -> list[Row]:
        """The table's real rows (tombstones apart: they are not data)."""
        self._ensure_fetched()
        if table in self.children:
            return [row for rows in self.children[table].values() for row in rows]
        return list(self.tables.get(table, {}).values())

    def tombstone_rows(self, table: str) -> list[Row]:
        """One per parent whose list of `table` children is now empty."""
        self._ensure_fetched()
        by_parent = self.children.get(table, {})
        return [self.tombstone(table, parent) for parent, rows in by_parent.items() if not rows]

    @abstractmethod
    def tombstone(self, table: str, parent: tuple[Any, ...]) -> Row:
        """The row that empties `parent`'s children in `table` and is itself dropped."""

    @abstractmethod
    def fetch(self, client: VendorClient) -> None:
        """Walk the watch entries, putting each complete one; a VendorError stops the run."""

    def put(self, table: str, row: Row) -> None:
        """Add a row; the same key from another answer keeps every non-null value, newest first."""
        _merge(self.tables.setdefault(table, {}), self.keys[table][0], row)

    def replace(self, table: str, parent: tuple[Any, ...], rows: list[Row]) -> None:
        """`parent`'s children are now `rows`, as the merge key replaces them in the warehouse."""
        merged: dict[tuple[Any, ...], Row] = {}
        for row in rows:
            _merge(merged, self.keys[table][0], row)
        self.children.setdefault(table, {})[parent] = list(merged.values())

    def _ensure_fetched(self) -> None:
        if not self._done:
            self._done = True
            self._fetch()

    def _fetch(self) -> None:
        try:
            client = self.make_client()
        except VendorError as exc:
            self.report.stopped_by = exc
            return
        with client:
            try:
                self.fetch(client)
            except VendorError as exc:
                logger.error("stopping %s after complete watch entries: %s", self.vendor, exc)
                self.report.stopped_by = exc


def _merge(rows: dict[tuple[Any, ...], Row], primary_key: tuple[str, ...], row: Row) -> None:
    key = tuple(row[c] for c in primary_key)
    old = rows.get(key)
    rows[key] = row if old is None else {k: old.get(k) if v is None else v for k, v in row.items()}


# -- what every snapshot source shares --------------------------------------------------------


def observation(observed_on: date | None) -> tuple[date, datetime]:
    """The observation day (default today, UTC) and the instant: now, or now's time that day."""
    now = datetime.now(UTC)
    day = observed_on or now.date()
    return day, now if day == now.date() else datetime.combine(day, now.time(), tzinfo=UTC)


def client_factory(
    profile: VendorProfile,
    base_url: str,
    api_key: str | None,
    report: RunReport,
    *,
    read_timeout: float,
    max_attempts: int,
    backoff_base: float,
    requests_per_second: float,
) -> Callable[[], VendorClient]:
    """The settings checked now (a bad one fails before any request), the client made later."""
    settings = ClientSettings(
        read_timeout=read_timeout,
        max_attempts=max_attempts,
        backoff_base=backoff_base,
        requests_per_second=requests_per_second,
    )
    return lambda: VendorClient(profile, base_url, api_key, settings, stats=report.requests)


def snapshot_resources(harvest: SnapshotHarvest, report: RunReport) -> list[DltResource]:
    """One merge resource per table, all reading the one harvest."""
    return [
        merge_resource(
            table,
            schema,
            harvest.keys[table],
            functools.partial(harvest.rows, table),
            report,
            tombstones=functools.partial(harvest.tombstone_rows, table),
            hard_delete=TOMBSTONE if TOMBSTONE in schema.names else None,
        )
        for table, schema in harvest.schemas.items()
    ]
