"""What one source run did: requests, credits, skipped slices, and why it stopped.

A source stops at the first vendor failure it cannot retry, after yielding every
complete slice; the caller loads what was yielded and then calls `raise_if_stopped`,
so a quota hit or an expired key keeps what landed and still fails the run loudly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import VendorError
from .http import RequestStats


@dataclass
class RunReport:
    requests: RequestStats = field(default_factory=RequestStats)
    rows: dict[str, int] = field(default_factory=dict)
    # Every table the source can write, so run metadata shows a 0 for an empty one.
    tables: tuple[str, ...] = ()
    empty_slices: list[str] = field(default_factory=list)
    schema_drift: set[str] = field(default_factory=set)
    stopped_by: VendorError | None = None

    def count_rows(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n

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
        if self.schema_drift:
            meta["schema_drift"] = ", ".join(sorted(self.schema_drift))
        if self.stopped_by is not None:
            meta["stopped_by"] = str(self.stopped_by)
        return meta
