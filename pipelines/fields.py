"""Typed values out of vendor JSON, and arrow tables into dlt: what every source shares.

Each `to_*` coercer takes a raw value (`to_obj` / `to_list`: the parent object) and the
field's name, returns a Python value (None for absent or blank), and raises ValueError
naming the field; a source wraps that in a MalformedResponse that also names the page and
item. 64-bit ids never pass through a float, and nothing outside BIGINT's range gets by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.extract import DltResource

from .report import Drift, RunReport

# What dlt may change in a raw table without a person deciding it: tables and columns evolve
# (a new table on its first rows; a column our arrow schema adds, or a vendor field a source
# chooses to keep as text), but a stored column's type is frozen: a batch that would retype
# one fails the load (dlt's DataValidationError), which the ingest assets turn into a failure
# naming vendor, table and column, instead of a silently re-typed or variant column.
RAW_CONTRACT: dict[str, str] = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}


def to_int(value: Any, name: str, *, required: bool = False) -> int | None:
    """JSON numbers or digit strings; a float is refused once it could have lost digits."""
    if value is None or value == "":
        if required:
            raise ValueError(f"required field {name!r} is missing")
        return None
    if isinstance(value, bool):
        raise ValueError(f"field {name!r} should be an integer, got a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    else:
        raise ValueError(f"field {name!r} should be an integer, got {str(value)[:40]!r}")
    if not -(2**63) <= number < 2**63:
        raise ValueError(f"field {name!r} is out of the BIGINT range: {str(value)[:40]}")
    return number


def to_float(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"field {name!r} should be a number, got {str(value)[:40]!r}")


def to_bool(value: Any, name: str) -> bool | None:
    """JSON booleans, or the strings some vendors send instead ("true" / "false" / "1" / "0")."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(f"field {name!r} should be true/false, got {str(value)[:40]!r}")


def to_text(value: Any, name: str, *, int_ok: bool = False) -> str | None:
    """A string; with `int_ok`, an integer too (ids some vendors send either way)."""
    if value is None or isinstance(value, str):
        return value
    if int_ok and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"field {name!r} should be a string, got {type(value).__name__}")


def to_iso_timestamp(value: Any, name: str) -> datetime | None:
    """ISO 8601 (`Z` or an offset) to an aware UTC datetime; a naive one is taken as UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"field {name!r} should be an ISO 8601 timestamp, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"field {name!r} should be an ISO 8601 timestamp, got {value[:40]!r}"
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def to_obj(item: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """An optional sub-object: absent or null is None, anything but an object is an error."""
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"field {name!r} should be an object, got {type(value).__name__}")
    return value


def to_list(obj: Mapping[str, Any], name: str) -> list[Any]:
    """An optional list: absent or null is empty, anything but a list is an error."""
    value = obj.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"field {name!r} should be a list, got {type(value).__name__}")
    return value


def json_type(value: Any) -> str | None:
    """The JSON type of a decoded value (None for null, which fits any field)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


@dataclass(frozen=True)
class SeedShape:
    """The fields of one vendor item and their JSON types, as the vendor's seed example has them.

    `optional` fields may be absent from a whole batch without it being drift (the seed says
    the vendor omits them); `columns` maps a field to the warehouse column it lands in when
    the names differ (default: the same name), so a missing field's stored values can be kept.
    """

    vendor: str
    table: str
    fields: Mapping[str, str]
    optional: frozenset[str] = frozenset()
    columns: Mapping[str, str] | None = None

    @classmethod
    def from_example(
        cls, vendor: str, table: str, example: Mapping[str, Any], **kwargs: Any
    ) -> SeedShape:
        """The shape of the seed's example item (every field in it must be non-null)."""
        types = {name: json_type(value) for name, value in example.items()}
        if nulls := sorted(name for name, kind in types.items() if kind is None):
            raise ValueError(f"the example has no JSON type for {nulls}: give them in `fields`")
        return cls(vendor, table, {k: v for k, v in types.items() if v is not None}, **kwargs)

    def tally(self) -> FieldTally:
        return FieldTally(self)


class FieldTally:
    """Which fields, of which JSON types, the items of one batch (a slice) carried."""

    def __init__(self, shape: SeedShape) -> None:
        self.shape = shape
        self.items = 0
        self.types: dict[str, set[str]] = {}

    def add(self, item: Any) -> None:
        if not isinstance(item, dict):
            return
        self.items += 1
        for name, value in item.items():
            kinds = self.types.setdefault(name, set())
            if (kind := json_type(value)) is not None:
                kinds.add(kind)

    def drift(self, partition: str, where: Mapping[str, Any] | None = None) -> set[Drift]:
        """Fields added, missing from every item, or of another JSON type than the seed's.

        An empty batch says nothing about the vendor's fields, so it never drifts.
        """
        if not self.items:
            return set()
        shape = self.shape
        slice_filter = tuple(sorted((where or {}).items()))

        def drift(name: str, kind: Any, detail: str) -> Drift:
            column = (shape.columns or {}).get(name, name)
            return Drift(
                shape.vendor, shape.table, name, kind, partition, detail, column, slice_filter
            )

        found = {
            drift(name, "added", "not in the seed") for name in set(self.types) - set(shape.fields)
        }
        found |= {
            drift(name, "missing", "absent from every item")
            for name in set(shape.fields) - set(self.types) - shape.optional
        }
        for name, kinds in self.types.items():
            expected = shape.fields.get(name)
            if expected is not None and (other := kinds - {expected}):
                found.add(drift(name, "type_change", f"{expected} -> {', '.join(sorted(other))}"))
        return found


def merge_resource(
    table: str,
    schema: pa.Schema,
    keys: tuple[Sequence[str], Sequence[str] | None],
    rows: Callable[[], list[dict[str, Any]]],
    report: RunReport,
    *,
    tombstones: Callable[[], list[dict[str, Any]]] = list,
    hard_delete: str | None = None,
    schema_contract: Mapping[str, str] = RAW_CONTRACT,
) -> DltResource:
    """One table of a multi-table source as a delete-insert merge resource of arrow batches.

    Column hints come from the arrow schema (64-bit ints stay BIGINT, timestamps keep their
    zone); `keys` is (primary key, merge key or None). `tombstones` are rows whose
    `hard_delete` column is set: dlt deletes the stored rows under their merge key and does
    not store them, which is how a parent whose list became empty loses its old children.

    The arrow schema is the table's contract: a vendor field it does not name is dropped
    here (report it with a `SeedShape` tally), a column it adds evolves the table, and a
    stored column never changes type (`RAW_CONTRACT`). The primary key is what identifies a
    stored row, so a field the vendor stopped sending (a `missing` drift) gets its stored
    values back after the load instead of NULL.
    """
    primary_key, merge_key = keys
    report.row_keys[table] = tuple(primary_key)
    columns: dict[str, Any] = {}
    for field in schema:
        if pa.types.is_int64(field.type):
            columns[field.name] = {"data_type": "bigint", "nullable": field.nullable}
        elif pa.types.is_timestamp(field.type):
            columns[field.name] = {"data_type": "timestamp", "timezone": True}
    if hard_delete is not None:
        columns[hard_delete] = {"data_type": "bool", "hard_delete": True}
    hints: dict[str, Any] = {"primary_key": list(primary_key)}
    if merge_key is not None:
        hints["merge_key"] = list(merge_key)

    def load() -> Iterator[pa.Table]:
        found = rows()
        if found:
            report.count_rows(table, len(found))
        deletes = tombstones()
        if found or deletes:
            yield pa.Table.from_pylist(found + deletes, schema=schema)

    return dlt.resource(
        load,
        name=table,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        columns=columns,
        schema_contract=dict(schema_contract),
        **hints,
    )
