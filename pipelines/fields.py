"""Typed values out of vendor JSON, and arrow tables into dlt: what every source shares.

Each `to_*` coercer takes a raw value (`to_obj` / `to_list`: the parent object) and the
field's name, returns a Python value (None for absent or blank), and raises ValueError
naming the field; a source wraps that in a MalformedResponse that also names the page and
item. 64-bit ids never pass through a float, and nothing outside BIGINT's range gets by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.extract import DltResource

from .report import RunReport


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


def merge_resource(
    table: str,
    schema: pa.Schema,
    keys: tuple[Sequence[str], Sequence[str] | None],
    rows: Callable[[], list[dict[str, Any]]],
    report: RunReport,
    *,
    tombstones: Callable[[], list[dict[str, Any]]] = list,
    hard_delete: str | None = None,
) -> DltResource:
    """One table of a multi-table source as a delete-insert merge resource of arrow batches.

    Column hints come from the arrow schema (64-bit ints stay BIGINT, timestamps keep their
    zone); `keys` is (primary key, merge key or None). `tombstones` are rows whose
    `hard_delete` column is set: dlt deletes the stored rows under their merge key and does
    not store them, which is how a parent whose list became empty loses its old children.
    """
    primary_key, merge_key = keys
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
        **hints,
    )
