"""Shared value coercion and the merge resource every multi-table source builds on."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest
from dlt.common.schema.exceptions import DataValidationError
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.fields import (
    SeedShape,
    json_type,
    merge_resource,
    to_bool,
    to_int,
    to_iso_timestamp,
    to_list,
    to_obj,
    to_text,
)
from pipelines.report import RunReport
from tests.conftest import count

BIG_ID = 7601397977986501919


@pytest.mark.parametrize(
    ("value", "expected"),
    [(str(BIG_ID), BIG_ID), (BIG_ID, BIG_ID), (" 42 ", 42), ("-3", -3), (12.0, 12), ("", None)],
)
def test_to_int_keeps_64_bit_ids_exact(value, expected):
    assert to_int(value, "id") == expected


@pytest.mark.parametrize("value", [7.601397977986502e18, True, "12.5", "n/a"])
def test_to_int_refuses_what_could_have_lost_digits_naming_the_field(value):
    with pytest.raises(ValueError, match="'aweme_id' should be an integer"):
        to_int(value, "aweme_id")


@pytest.mark.parametrize("value", [2**63, str(2**64), -(2**63) - 1])
def test_to_int_refuses_what_bigint_cannot_hold(value):
    with pytest.raises(ValueError, match="'aweme_id' is out of the BIGINT range"):
        to_int(value, "aweme_id")


def test_to_int_required_names_the_missing_field():
    with pytest.raises(ValueError, match="required field 'video_id' is missing"):
        to_int(None, "video_id", required=True)


def test_to_bool_text_obj_list_and_timestamp():
    assert [to_bool(v, "b") for v in ("true", "0", True, None)] == [True, False, True, None]
    assert to_text(12, "id", int_ok=True) == "12"
    with pytest.raises(ValueError, match="'desc' should be a string"):
        to_text(5, "desc")
    assert to_obj({"shop": None}, "shop") is None
    assert to_list({}, "hashtags") == []
    with pytest.raises(ValueError, match="'media' should be a list"):
        to_list({"media": "x"}, "media")
    assert to_iso_timestamp("2025-06-30T08:26:03+02:00", "t") == datetime(
        2025, 6, 30, 6, 26, 3, tzinfo=UTC
    )


def test_merge_resource_types_ids_and_tombstones_empty_a_parents_children(warehouse):
    schema = pa.schema(
        [
            pa.field("parent_id", pa.int64(), nullable=False),
            pa.field("position", pa.int64(), nullable=False),
            pa.field("tag", pa.string()),
            pa.field("deleted", pa.bool_()),
        ]
    )
    keys = (("parent_id", "position"), ("parent_id",))
    pipeline = warehouse.dlt_pipeline("fields_test", "raw_test")

    def load(rows, tombstones=()):
        report = RunReport()
        resource = merge_resource(
            "children",
            schema,
            keys,
            lambda: list(rows),
            report,
            tombstones=lambda: list(tombstones),
            hard_delete="deleted",
        )
        pipeline.run(resource, loader_file_format="parquet")
        return report

    first = [{"parent_id": BIG_ID, "position": 1, "tag": "a"}, {"parent_id": 2, "position": 1}]
    assert load(first).rows == {"children": 2}
    report = load([], tombstones=[{"parent_id": BIG_ID, "position": 0, "deleted": True}])
    assert report.rows == {}, "a tombstone is not a row"
    assert count(warehouse, "select count(*) from raw_test.children") == 1
    assert (
        count(warehouse, f"select count(*) from raw_test.children where parent_id = {BIG_ID}") == 0
    )
    with warehouse.connect(read_only=True) as con:
        [(kind,)] = con.execute(
            "select data_type from information_schema.columns "
            "where table_schema = 'raw_test' and column_name = 'parent_id'"
        ).fetchall()
    assert kind == "BIGINT"


def test_seed_shape_names_each_kind_of_drift_once_per_batch():
    example = {"id": "1", "views": 3, "tags": ["a"], "author": {"name": "x"}, "ai": False}
    shape = SeedShape.from_example(
        "vendor", "posts", example, optional=frozenset({"ai"}), columns={"author": "author_name"}
    )
    assert shape.fields == {
        "id": "string",
        "views": "number",
        "tags": "array",
        "author": "object",
        "ai": "boolean",
    }
    tally = shape.tally()
    tally.add({"id": "1", "views": "3", "tags": None, "extra": 1})
    tally.add({"id": 2, "views": 4, "tags": ["b"], "extra": None})
    tally.add("not an item")
    found = {(d.field, d.kind, d.detail, d.column) for d in tally.drift("2026-03-01", {"day": 1})}
    assert found == {
        ("id", "type_change", "string -> number", "id"),
        ("views", "type_change", "number -> string", "views"),
        ("extra", "added", "not in the seed", "extra"),
        ("author", "missing", "absent from every item", "author_name"),
    }, "null fits any type; `ai` is optional"
    assert {d.where for d in tally.drift("2026-03-01", {"day": 1})} == {(("day", 1),)}
    assert shape.tally().drift("2026-03-01") == set(), "an empty batch says nothing"
    assert [json_type(v) for v in (None, True, 1.5, "s", [], {})] == [
        None,
        "boolean",
        "number",
        "string",
        "array",
        "object",
    ]
    with pytest.raises(ValueError, match="no JSON type for \\['gone'\\]"):
        SeedShape.from_example("vendor", "posts", {"gone": None})


def test_merge_resource_freezes_column_types_and_keys_rows_by_primary_key(warehouse):
    keys = (("id",), None)

    def load(kind: pa.DataType, value: object) -> RunReport:
        report = RunReport()
        schema = pa.schema([pa.field("id", pa.int64(), nullable=False), ("tag", kind)])
        resource = merge_resource("tags", schema, keys, lambda: [{"id": 1, "tag": value}], report)
        warehouse.dlt_pipeline("contract_test", "raw_test").run(
            resource, loader_file_format="parquet"
        )
        return report

    assert load(pa.string(), "a").row_keys == {"tags": ("id",)}
    with pytest.raises(PipelineStepFailed) as refused:
        load(pa.int64(), 7)
    cause = refused.value.__cause__
    assert isinstance(cause, DataValidationError)
    assert (cause.table_name, cause.column_name, cause.schema_entity) == (
        "tags",
        "tag",
        "data_type",
    )
    assert count(warehouse, "select count(*) from raw_test.tags where tag = 'a'") == 1
