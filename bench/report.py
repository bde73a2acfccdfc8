"""The targets of issue 13, the printed table, the results file and the plots."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

RESULTS = Path(__file__).resolve().parent / "results"
GIB = 1024.0  # MiB


@dataclass(frozen=True)
class Target:
    measure: str
    target: str
    value: Callable[[dict[str, Any]], float | None]
    met: Callable[[float, dict[str, Any]], bool]
    unit: str = ""


def _load(results: dict[str, Any], path: str, rows: int) -> dict[str, Any] | None:
    return next((c for c in results["load"] if c["path"] == path and c["rows"] == rows), None)


def load_ratio(results: dict[str, Any], rows: int) -> float | None:
    dlt, sql = _load(results, "dlt", rows), _load(results, "sql", rows)
    if dlt is None or sql is None:
        return None
    return sql["first"]["seconds"] / dlt["first"]["seconds"]


def peak(results: dict[str, Any], rows: int) -> float | None:
    """The dlt path's peak memory above its input, first load or re-load, whichever is more."""
    case = _load(results, "dlt", rows)
    if case is None:
        return None
    return max(case["first"]["peak_above_input_mib"], case["reload"]["peak_above_input_mib"])


def _efficiency(rps: float) -> Callable[[dict[str, Any]], float | None]:
    return lambda r: next(
        (e["efficiency"] for e in r["rate_efficiency"] if e["limit_rps"] == rps), None
    )


def _nightly(results: dict[str, Any]) -> float | None:
    vendors = results["vendors"]
    return sum(v["baseline_s"] for v in vendors) / sum(v["pipeline_s"] for v in vendors)


def _peak_met(value: float, results: dict[str, Any]) -> bool:
    small = peak(results, results["sizes"][0])
    return value < GIB and small is not None and value <= 1.5 * max(small, 1.0)


def targets(results: dict[str, Any]) -> list[Target]:
    sizes = results["sizes"]
    middle, largest = sizes[len(sizes) // 2], sizes[-1]
    growth = results.get("growth") or {}
    return [
        Target(
            f"load path vs SQL delete-insert at {middle:,} rows (time ratio)",
            ">= 0.5",
            lambda r: load_ratio(r, middle),
            lambda v, r: v >= 0.5,
        ),
        Target(
            f"peak memory above input at {largest:,} rows (MiB)",
            f"< 1 GiB and <= 1.5x the {sizes[0]:,}-row figure",
            lambda r: peak(r, largest),
            _peak_met,
        ),
        Target(
            "rate-limit efficiency at 5 rps", ">= 0.97", _efficiency(5.0), lambda v, r: v >= 0.97
        ),
        Target(
            "rate-limit efficiency at 20 rps", ">= 0.97", _efficiency(20.0), lambda v, r: v >= 0.97
        ),
        Target(
            "nightly vs bare baseline, same limits (time ratio)",
            ">= 0.8",
            _nightly,
            lambda v, r: v >= 0.8,
        ),
        Target(
            "growth: nightly at 365 vs 7 days of history",
            "<= 1.3x",
            lambda r: growth.get("ratio"),
            lambda v, r: v <= 1.3,
        ),
        Target(
            f"definitions load, {'one run' if results.get('quick') else 'median of 3'} (s)",
            "< 2 s",
            lambda r: r["startup_s"],
            lambda v, r: v < 2,
        ),
    ]


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for target in targets(results):
        value = target.value(results)
        met = None if value is None else bool(target.met(value, results))
        rows.append(
            {
                "measure": target.measure,
                "value": None if value is None else round(value, 3),
                "target": target.target,
                "met": met,
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'measure':<62} {'value':>10}  {'target':<44} met"]
    for row in rows:
        value = "n/a" if row["value"] is None else f"{row['value']:,.3f}"
        met = {True: "yes", False: "no", None: "n/a"}[row["met"]]
        lines.append(f"{row['measure']:<62} {value:>10}  {row['target']:<44} {met}")
    return "\n".join(lines)


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "nocommit"


def results_stem(results_dir: Path = RESULTS) -> Path:
    return results_dir / f"{datetime.now(UTC):%Y-%m-%d}-{commit()}"


def files(stem: Path, results: dict[str, Any]) -> dict[str, Path]:
    """Where the JSON results and the PNG plots go (the growth plot only when measured)."""
    paths = {
        "json": stem.with_suffix(".json"),
        "memory_png": stem.with_name(stem.name + "-memory.png"),
    }
    if (results.get("growth") or {}).get("points"):
        paths["growth_png"] = stem.with_name(stem.name + "-growth.png")
    return paths


def write(results: dict[str, Any], paths: dict[str, Path]) -> None:
    paths["json"].parent.mkdir(parents=True, exist_ok=True)
    paths["json"].write_text(json.dumps(results, indent=2) + "\n")
    _memory_plot(results, paths["memory_png"])
    if "growth_png" in paths:
        _growth_plot(results["growth"]["points"], paths["growth_png"])


def _memory_plot(results: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in ("dlt", "sql"):
        for label in ("first", "reload"):
            cases = sorted(
                (c for c in results["load"] if c["path"] == name), key=lambda c: c["rows"]
            )
            ax.plot(
                [c["rows"] for c in cases],
                [c[label]["peak_above_input_mib"] for c in cases],
                marker="o",
                linestyle="-" if label == "first" else "--",
                label=f"{name} {label} load",
            )
    ax.axhline(GIB, color="grey", linewidth=0.8, linestyle=":", label="target: 1 GiB")
    ax.set(xscale="log", xlabel="rows loaded", ylabel="peak memory above input (MiB)")
    ax.set_title("Load path: peak memory against rows")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _growth_plot(points: list[dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot([p["days"] for p in points], [p["seconds"] for p in points], marker="o")
    ax.set(xlabel="days of history in the lake", ylabel="nightly time (s)")
    ax.set_title("Growth: nightly time against history")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
