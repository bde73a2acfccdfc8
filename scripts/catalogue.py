"""Write README.md's model catalogue from dbt's manifest, so the table cannot drift.

One row per model: schema, table, grain (the model's first comment line), key (the columns of
its unique test) and purpose (the first paragraph of its description). The rows go between
`<!-- catalogue:start -->` and `<!-- catalogue:end -->`; nothing else in README.md changes.

    python scripts/catalogue.py            # parse warehouse/ (no lake needed), rewrite README.md
    python scripts/catalogue.py --check    # exit 1 when README.md's table is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- catalogue:start -->", "<!-- catalogue:end -->"
HEADER = "| schema | table | grain | key | purpose |\n|---|---|---|---|---|"


def load_manifest() -> dict[str, Any]:
    """A fresh `dbt parse` of warehouse/ (the project's own target/manifest.json)."""
    sys.path.insert(0, str(ROOT))
    from assets.warehouse import dbt_project, parse_manifest

    parse_manifest(dbt_project)
    return json.loads(dbt_project.manifest_path.read_text())


def grain(raw_code: str) -> str:
    """The first `--` comment line of a model, without the dashes."""
    for line in raw_code.splitlines():
        if line.strip().startswith("--"):
            return line.strip().removeprefix("--").strip()
    return ""


def key_columns(manifest: Mapping[str, Any], unique_id: str) -> list[str]:
    """The columns of the model's `unique_combination` test, else of its `unique` test."""
    found: dict[str, list[str]] = {}
    for child in manifest["child_map"].get(unique_id, []):
        test = manifest["nodes"].get(child, {})
        if test.get("attached_node") != unique_id:
            continue
        meta = test.get("test_metadata", {})
        if meta.get("name") == "unique_combination":
            found.setdefault("unique_combination", list(meta["kwargs"]["columns"]))
        elif meta.get("name") == "unique" and test.get("column_name"):
            found.setdefault("unique", [test["column_name"]])
    return found.get("unique_combination") or found.get("unique") or []


def purpose(description: str) -> str:
    """The description's first paragraph on one line."""
    return " ".join(description.strip().split("\n\n")[0].split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def catalogue(manifest: Mapping[str, Any]) -> str:
    """The markdown table of every model of the project, by schema and table."""
    models = sorted(
        (node for node in manifest["nodes"].values() if node["resource_type"] == "model"),
        key=lambda node: (node["schema"], node["alias"]),
    )
    rows = [
        "| "
        + " | ".join(
            [
                f"`{node['schema']}`",
                f"`{node['alias']}`",
                _cell(grain(node["raw_code"])),
                _cell(", ".join(f"`{c}`" for c in key_columns(manifest, node["unique_id"]))),
                _cell(purpose(node.get("description") or "")),
            ]
        )
        + " |"
        for node in models
    ]
    return "\n".join([HEADER, *rows])


def readme_table(text: str) -> str:
    """What README.md holds between the markers."""
    match = re.search(re.escape(START) + r"\n(.*?)\n?" + re.escape(END), text, re.S)
    if match is None:
        raise SystemExit(f"error: README.md has no {START} ... {END} markers")
    return match.group(1).strip()


def with_table(text: str, table: str) -> str:
    """README.md's text with `table` between the markers."""
    readme_table(text)
    start, end = text.index(START) + len(START), text.index(END)
    return text[:start] + "\n" + table + "\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when README.md is stale")
    args = parser.parse_args(argv)
    table = catalogue(load_manifest())
    text = README.read_text()
    if args.check:
        if readme_table(text) != table:
            print("stale README.md catalogue: run python scripts/catalogue.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(with_table(text, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
