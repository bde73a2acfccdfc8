"""The guarantees the hand-written runner gave, kept for the dbt project in warehouse/:
dependencies only through ref() / source(), a grain and a key per model, and the README
catalogue generated from the manifest. Every column documented is checked on the built lake,
in tests/assets/test_warehouse_assets.py (one worker builds that lake once)."""

from __future__ import annotations

import re
from typing import Any

from scripts.catalogue import README, catalogue, grain, key_columns, readme_table
from tests.warehouse.conftest import model_nodes, model_path

# A relation named in SQL text: `raw_x.t`, `staging.stg_x`, `marts.fct_x`, `lake.anything`.
HARD_CODED_RELATION = re.compile(r'\b"?(raw_\w+|staging|marts|lake)"?\s*\.\s*"?[a-z_]', re.I)


def _sql_outside_jinja_and_comments(sql: str) -> str:
    sql = re.sub(r"\{#.*?#\}", " ", sql, flags=re.S)
    sql = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", sql, flags=re.S)
    sql = re.sub(r"--[^\n]*", " ", sql)
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def test_the_relation_pattern_catches_hard_coded_tables() -> None:
    written = "select * from raw_keyapi.video_rankings_daily -- raw_keyapi.x\n"
    assert HARD_CODED_RELATION.search(_sql_outside_jinja_and_comments(written))
    sourced = "select * from {{ source('raw_keyapi', 'video_rankings_daily') }} as raw_keyapi"
    assert not HARD_CODED_RELATION.search(_sql_outside_jinja_and_comments(sourced))


def test_models_name_other_tables_only_through_ref_and_source(manifest: dict[str, Any]) -> None:
    hard_coded = {
        node["name"]: match.group(0)
        for node in model_nodes(manifest)
        if (match := HARD_CODED_RELATION.search(_sql_outside_jinja_and_comments(node["raw_code"])))
    }
    assert hard_coded == {}
    for node in model_nodes(manifest):
        depends = node["depends_on"]["nodes"]
        if node["schema"] == "staging":
            assert depends and all(d.startswith("source.") for d in depends), node["name"]
        else:
            assert depends and all(d.startswith("model.") for d in depends), node["name"]


def test_every_model_states_its_grain_and_has_a_unique_key_test(manifest: dict[str, Any]) -> None:
    nodes = model_nodes(manifest)
    assert len(nodes) > 5
    no_grain = [n["name"] for n in nodes if not grain(n["raw_code"]).startswith("one row per")]
    no_key = [n["name"] for n in nodes if not key_columns(manifest, n["unique_id"])]
    assert (no_grain, no_key) == ([], [])
    assert all(model_path(node).exists() for node in nodes)


def test_readme_catalogue_is_the_one_generated_from_the_manifest(manifest: dict[str, Any]) -> None:
    table = catalogue(manifest)

    assert readme_table(README.read_text()) == table, "run: python scripts/catalogue.py"
    assert "| `marts` | `fct_video_ranking_movement` |" in table
