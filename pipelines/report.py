"""What one source run did: requests, credits, skipped slices, schema drift, why it stopped.

A source stops at the first vendor failure it cannot retry, after yielding every
complete slice; the caller loads what was yielded and then calls `raise_if_stopped`,
so a quota hit or an expired key keeps what landed and still fails the run loudly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import VendorError
from .http import RequestStats

DriftKind = Literal["missing", "added", "type_change"]


@dataclass(frozen=True, order=True)
class Drift:
    """One field of one vendor item that differs from the seed, in one slice of one load.

    `where` holds the (column, value) pairs that select the slice's rows in its table (empty:
    every row of the load), so a value the vendor stopped sending can be put back there.
    """

    vendor: str
    table: str
    field: str
    kind: DriftKind
    partition: str
    detail: str = ""
    column: str | None = None  # the warehouse column the field lands in, if any
    where: tuple[tuple[str, Any], ...] = ()

    def as_row(self) -> dict[str, str]:
        """The fields a person acts on, without the slice filter (grouped per partition)."""
        return {
            "vendor": self.vendor,
            "table": self.table,
            "field": self.field,
            "kind": self.kind,
            "partition": self.partition,
            "detail": self.detail,
        }


def drift_rows(drifts: Iterable[Drift]) -> list[dict[str, str]]:
    """One row per (vendor, table, field, kind, partition), however many slices it hit."""
    unique = {tuple(d.as_row().items()): d.as_row() for d in sorted(drifts)}
    return list(unique.values())


@dataclass
class RunReport:
    requests: RequestStats = field(default_factory=RequestStats)
    rows: dict[str, int] = field(default_factory=dict)
    # Every table the source can write, so run metadata shows a 0 for an empty one.
    tables: tuple[str, ...] = ()
    empty_slices: list[str] = field(default_factory=list)
    schema_drift: set[Drift] = field(default_factory=set)
    # Per table, the columns that identify a stored row across loads (see `Drift.where`).
    row_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stopped_by: VendorError | None = None

    def count_rows(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n

    def note_drift(self, drifts: Iterable[Drift]) -> None:
        self.schema_drift.update(drifts)

    def raise_if_stopped(self) -> None:
        if self.stopped_by is not None:
            raise self.stopped_by

    def as_metadata(self) -> dict[str, int | float | str]:
        meta: dict[str, int | float | str] = dict(self.requests.as_metadata())
        meta["rows_fetched"] = sum(self.rows.values())
        for table in sorted({*self.tables, *self.rows}):
            meta[f"rows_{table}"] = self.rows.get(table, 0)
        meta["empty_slices"] = len(self.empty_slices)
        if self.empty_slices:
            meta["empty_slice_examples"] = ", ".join(self.empty_slices[:10])
        drifted = drift_rows(self.schema_drift)
        meta["schema_drift_fields"] = len(drifted)
        if drifted:
            meta["schema_drift"] = "; ".join(
                f"{d['vendor']}.{d['table']}.{d['field']} {d['kind']} @ {d['partition']}"
                for d in drifted
            )
        if self.stopped_by is not None:
            meta["stopped_by"] = str(self.stopped_by)
        return meta
