"""Model build time on a year of synthetic history: the full `dbt run` against a nightly one.

A temporary DuckLake gets the raw tables exactly as dlt creates them
(`bench/models_raw_tables.sql`), filled by DuckDB SQL (`INSERT ... SELECT FROM range(...)`)
with about `--observations` video counter observations over `--days` UTC days: every video
lives `LIFETIME_DAYS` days on a deterministic curve; KeyAPI ranks every live video each day,
EnsembleData, Influtics and Trendtrack track every 2nd, 3rd and 5th of them daily, Research
pulls every 4th once, the day after it was published. Then it times

1. the full build from scratch (`dbt run`), and the data tests apart (`dbt test`);
2. a nightly: one new day of raw rows, then `dbt run` with that day as the partition window
   (`--vars {start_date, end_date}`, what Dagster's daily facts pass);
3. a full rebuild (`dbt run --full-refresh`), which must give the nightly's rows for the new
   day (same count, same content hash of `fct_video_daily`), or the run fails;
4. growth: the same nightly on a `--growth-days` history, as a ratio against the long one.

    .venv/bin/python -m bench.models [--observations 10000000] [--days 365] [--growth-days 7]

It prints a table and writes `bench/results/models-<date>-<commit>.json`. Wall times include
dbt's start-up (parse, connect: seconds); `nodes_s` sums dbt's own node times and
`facts_s` those of the incremental facts among them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.lake import Lake

ROOT = Path(__file__).resolve().parents[1]
WAREHOUSE = ROOT / "warehouse"
RESULTS = ROOT / "bench" / "results"
RAW_TABLES = Path(__file__).with_name("models_raw_tables.sql")
DBT = str(Path(sys.executable).with_name("dbt"))

FIRST_DAY = date(2025, 7, 1)
LIFETIME_DAYS = 30
REGIONS = ("US", "GB", "DE", "FR", "ID", "BR", "JP")
CREATORS = 5_000
TAGS = (
    *("fyp", "foryou", "viral", "trending", "skincare", "makeup", "grwm", "ootd", "haul"),
    *("techtok", "gadgets", "unboxing", "cleantok", "homedecor", "foodtok", "recipe", "gymtok"),
    *("workout", "pettok", "gaming", "comedy", "pov", "storytime", "lifehack", "tiktokshop"),
    *("ttshopfinds", "usa", "uk", "brasil", "france"),
)
# A vendor tracks every k-th live video daily (KeyAPI's daily ranking lists them all).
EVERY = {"keyapi": 1, "ensembledata": 2, "influtics": 3, "trendtrack": 5}
RESEARCH_EVERY = 4


def videos_per_day(observations: int, days: int) -> int:
    """Videos published per day so that `days` days hold about `observations` observations."""
    # per video: a daily observation from each tracking vendor for its lifetime, one Research
    # pull, and the Influtics snapshot of its latest totals (every 3rd video)
    daily = LIFETIME_DAYS * sum(1 / k for k in EVERY.values()) + 1 / RESEARCH_EVERY + 1 / 3
    return max(1, round(observations / days / daily))


def _live(con: Any, first: int, last: int, per_day: int) -> None:
    """Temp table `live`: every video alive on days [first, last) (offsets from FIRST_DAY),
    with its lifetime views at the end of that day and at the end of the day before."""
    tags = ", ".join(f"'{t}'" for t in TAGS)
    con.execute(f"create or replace temp macro tag(i) as ([{tags}])[i % {len(TAGS)} + 1]")
    con.execute(f"create or replace temp macro region(i) as ({list(REGIONS)})[i % 7 + 1]")
    con.execute(
        f"""
        create or replace temp table live as
        with grid as (
            select n, age, j, (n - age + {LIFETIME_DAYS}) * {per_day} + j as v
            from range({first}, {last}) d(n), range({LIFETIME_DAYS}) a(age), range({per_day}) s(j)
        ), curve as (
            select *,
                date '{FIRST_DAY}' + cast(n as integer) as day,
                1000 + cast(hash(v) % 5000000 as bigint) as final,
                [0.5, 1.0, 2.0][v % 3 + 1] as shape,
                to_timestamp(epoch(date '{FIRST_DAY}' + cast(n - age as integer))
                    + j * {86_399 // per_day}) as create_time
            from grid
        )
        select *,
            (cast(epoch(create_time) as bigint) << 32) + j as video_id,
            cast(final * pow((age + 1) / {LIFETIME_DAYS}, shape) as bigint) as views,
            cast(final * pow(age / {LIFETIME_DAYS}, shape) as bigint) as views_before,
            v % {CREATORS} as creator
        from curve
        """
    )


def _load_id(vendor: str) -> str:
    """dlt's load id (epoch seconds as text) of the vendor's nightly load after the row's day."""
    offset = list(EVERY).index(vendor) if vendor in EVERY else len(EVERY)
    return f"cast(epoch(day) + 86400 + 7200 + {offset * 60} as varchar) || '.5'"


def _caption() -> str:
    """A caption carrying the video's hashtags, as the staging models parse them."""
    return "'caption ' || v || ' #' || tag(v) || ' #' || tag(v * 7 + 3) || ' #fyp '"


def _replace(con: Any, table: str, key: str, select: str) -> None:
    """A merge on `key` like dlt's delete-insert: the newest row of each key replaces the old."""
    con.execute(f"create or replace temp table incoming as {select}")
    con.execute(f"delete from {table} where {key} in (select {key} from incoming)")
    con.execute(f"insert into {table} select * from incoming")


def insert_days(con: Any, first: int, last: int, per_day: int) -> dict[str, int]:
    """Raw rows of every vendor for days [first, last); returns rows written per table."""
    _live(con, first, last, per_day)
    k = EVERY
    con.execute(
        f"""
        insert into raw_keyapi.video_rankings_daily
        select day, 'day', region(v), 'views', 'all',
            row_number() over (
                partition by day, v % 7 order by views - views_before desc, video_id
            ),
            video_id, 6700000000000000000 + creator, 'creator' || creator, 'Creator ' || creator,
            'https://avatar.invalid/' || creator || '.jpg', 'Home', create_time, v % 13 = 0,
            5 + v % 60, 'https://cover.invalid/' || video_id || '.jpg', cast(v % 4 = 0 as bigint),
            (views - views_before) // 200, (views - views_before) * 8 // 100,
            (views - views_before) // 100, (views - views_before) // 300,
            case when v % 4 = 0 then (views - views_before) // 500 else 0 end,
            case when v % 4 = 0 then (views - views_before) // 50 else 0 end,
            views - views_before, {_caption()},
            case when v % 4 = 0 then '[{{"category_name":"Home Supplies","category_id":"600001"}}]'
                else '[]' end,
            case when v % 4 = 0 then '["' || (1729000000000000000 + v % 500) || '"]' else '[]' end,
            'req-' || n, {_load_id("keyapi")}
        from live where views > views_before
        """
    )
    con.execute(
        f"""
        insert into raw_ensembledata.video_stats
        select video_id, day, day + interval 12 hour, views, views * 8 // 100, views // 200,
            views // 300, views // 100, {_load_id("ensembledata")}
        from live where v % {k["ensembledata"]} = 0
        """
    )
    latest = "qualify row_number() over (partition by v order by n desc) = 1"
    _replace(
        con,
        "raw_ensembledata.videos",
        "aweme_id",
        f"""select video_id as aweme_id, {_caption()}, create_time, region(v),
            (5 + v % 60) * 1000, 6700000000000000000 + creator, 'creator' || creator,
            7100000000000000000 + v % 400, day + interval 12 hour, {_load_id("ensembledata")}
        from live where v % {k["ensembledata"]} = 0 {latest}""",
    )
    _replace(
        con,
        "raw_ensembledata.video_hashtags",
        "aweme_id",
        f"""select video_id as aweme_id, position, tag(v * position), null,
            {_load_id("ensembledata")}
        from (select * from live where v % {k["ensembledata"]} = 0 {latest}) as videos,
            range(3) p(position)""",
    )
    con.execute(
        f"""
        insert into raw_influtics.stats_points
        select 'inf-' || v, cast(video_id as varchar), video_id, metric, day + interval 8 hour,
            case metric when 'views' then views when 'likes' then views * 8 // 100
                when 'comments' then views // 200 else views // 300 end,
            day + 1, {_load_id("influtics")}
        from live, unnest(['views', 'likes', 'comments', 'reposts']) m(metric)
        where v % {k["influtics"]} = 0
        """
    )
    _replace(
        con,
        "raw_influtics.video_stats",
        "video_id",
        f"""select 'inf-' || v as video_id, cast(video_id as varchar), video_id, 'TikTok',
            {_caption()}, null, views, views * 8 // 100, views // 200, views // 300, 8.7, 0.0,
            create_time, day + interval 20 hour, day + 1, 'req-' || n, {_load_id("influtics")}
        from live where v % {k["influtics"]} = 0 {latest}""",
    )
    con.execute(
        f"""
        insert into raw_trendtrack.library_item_metrics
        select 'tiktok_' || video_id, day, video_id, day + interval 18 hour, day, 'active', age,
            views, views * 8 // 100, views // 200, views // 100, views // 300, views // 1200,
            0.1, 0.5, null, null, null, null, null, 'req-' || n, {_load_id("trendtrack")}
        from live where v % {k["trendtrack"]} = 0
        """
    )
    _replace(
        con,
        "raw_trendtrack.library_items",
        "id",
        f"""select 'tiktok_' || video_id as id, video_id, case when v % 2 = 0 then 'ad'
                else 'organic' end, 'active', false, create_time, create_time, day, day, age,
            {_caption()}, 'en', 'Home', null, null, null, 'video', null, null, null,
            5 + v % 60, 1, 0, views, views * 8 // 100, views // 200, views // 100, views // 300,
            views // 1200, 0.1, 0.5, null, null, null, null, null, null,
            'profile-' || creator, 'shop-' || v % 50, null, null, null, null,
            'https://www.tiktok.com/@creator' || creator || '/video/' || video_id, null,
            'tiktok', 'library', null, null, null, day, day + interval 18 hour, 'req-' || n,
            {_load_id("trendtrack")}
        from live where v % {k["trendtrack"]} = 0 {latest}""",
    )
    con.execute(
        f"""
        insert into raw_tiktok_research.videos
        select 'query' || v % 3, video_id, create_time, cast(create_time as date),
            'creator' || creator, region(v), {_caption()}, null,
            7100000000000000000 + v % 400, views * 8 // 100, views // 200, views // 300, views,
            views // 100, null, 5 + v % 60, null, false, '[]',
            to_json([tag(v), 'fyp']), null, '[]', null,
            day + interval 6 hour, 'log-' || n, {_load_id("research")}
        from live where age = 1 and v % {RESEARCH_EVERY} = 0
        """
    )
    return count_raw(con)


def count_raw(con: Any) -> dict[str, int]:
    tables = con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() "
        "where database_name = 'lake' and schema_name like 'raw_%' order by 1"
    ).fetchall()
    return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for (t,) in tables}


def create_lake(root: Path) -> Lake:
    """An empty embedded lake under `root` holding every raw table, as dlt leaves them."""
    lake = Lake.from_settings(root=str(root))
    con = lake.connect()
    ddl = RAW_TABLES.read_text()
    for schema in sorted(
        {
            line.split()[2].split(".")[0]
            for line in ddl.splitlines()
            if line.startswith("create table")
        }
    ):
        con.execute(f"create schema if not exists {schema}")
    con.execute(ddl)
    return lake


def dbt(lake: Lake, target: Path, *args: str) -> dict[str, float]:
    """One dbt invocation on `lake`: its wall time, and dbt's own time for every node and for
    the incremental facts among them."""
    command = [DBT, *args, "--profiles-dir", str(WAREHOUSE), "--project-dir", str(WAREHOUSE)]
    command += ["--target-path", str(target), "--log-path", str(target / "logs")]
    start = time.perf_counter()
    done = subprocess.run(
        command, env={**os.environ, **lake.dbt_env()}, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"dbt {' '.join(args)} failed:\n{done.stdout[-4000:]}")
    nodes = json.loads((target / "run_results.json").read_text())["results"]
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    facts = [
        n
        for n in nodes
        if manifest.get(n["unique_id"], {}).get("config", {}).get("materialized") == "incremental"
    ]
    timing = {
        "wall_s": round(wall, 2),
        "nodes_s": round(sum(n["execution_time"] for n in nodes), 2),
        "facts_s": round(sum(n["execution_time"] for n in facts), 2),
        "nodes": len(nodes),
    }
    # a long run shows each step as it ends, so a stopped run still tells something
    print(f"dbt {' '.join(args)[:60]}: {timing}", file=sys.stderr, flush=True)
    return timing


def fingerprint(lake: Lake, day: date) -> tuple[int, str]:
    """Row count and an order-free content hash of `fct_video_daily` on `day`; doubles are
    rounded to 9 significant digits, so a different summation order cannot differ."""
    con = lake.connect(read_only=True)
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = 'lake' "
        "and schema_name = 'marts' and table_name = 'fct_video_daily' order by column_index"
    ).fetchall()
    values = ", ".join(
        f"round({name}, 9 - cast(ceil(log10(abs({name}) + 1e-300)) as integer))"
        if kind == "DOUBLE"
        else name
        for name, kind in columns
    )
    count, digest = con.execute(
        f"select count(*), cast(coalesce(sum(hash({values})), 0) as varchar) "
        "from marts.fct_video_daily where observed_on = ?",
        [day],
    ).fetchone()
    return count, digest


def nightly_vars(day: date) -> str:
    return json.dumps({"start_date": f"{day}", "end_date": f"{day + timedelta(days=1)}"})


def history(root: Path, days: int, per_day: int) -> tuple[Lake, dict[str, int]]:
    lake = create_lake(root)
    return lake, insert_days(lake.connect(), 0, days, per_day)


def nightly(lake: Lake, target: Path, days: int, per_day: int) -> dict[str, Any]:
    """One new day of raw rows, then the models with that day as the partition window."""
    start = time.perf_counter()
    insert_days(lake.connect(), days, days + 1, per_day)
    insert_s = time.perf_counter() - start
    new_day = FIRST_DAY + timedelta(days=days)
    run = dbt(lake, target, "run", "--vars", nightly_vars(new_day))
    return {"day": f"{new_day}", "insert_s": round(insert_s, 2), **run}


def measure(
    observations: int, days: int, growth_days: int, work: Path, with_tests: bool = True
) -> dict[str, Any]:
    per_day = videos_per_day(observations, days)
    target = work / "target"
    start = time.perf_counter()
    lake, raw = history(work / "year", days, per_day)
    synth_s = time.perf_counter() - start
    full = dbt(lake, target, "run")
    tests = (
        dbt(lake, target, "test", "--exclude-resource-type", "unit_test") if with_tests else None
    )
    con = lake.connect(read_only=True)
    observed = con.execute("select count(*) from marts.fct_video_observations").fetchone()[0]
    daily_rows = con.execute("select count(*) from marts.fct_video_daily").fetchone()[0]
    night = nightly(lake, target, days, per_day)
    incremental = fingerprint(lake, FIRST_DAY + timedelta(days=days))
    rebuild = dbt(lake, target, "run", "--full-refresh")
    rebuilt = fingerprint(lake, FIRST_DAY + timedelta(days=days))
    result: dict[str, Any] = {
        "observations_requested": observations,
        "days": days,
        "videos_per_day": per_day,
        "raw_rows": raw,
        "synthesize_s": round(synth_s, 2),
        "fct_video_observations_rows": observed,
        "fct_video_daily_rows": daily_rows,
        "full_build": full,
        "tests": tests,
        "nightly": night,
        "full_refresh": rebuild,
        "new_day_rows": {"incremental": incremental[0], "full_refresh": rebuilt[0]},
        "new_day_hash": {"incremental": incremental[1], "full_refresh": rebuilt[1]},
        "incremental_equals_full": incremental == rebuilt,
    }
    if growth_days:
        small, _ = history(work / "short", growth_days, per_day)
        dbt(small, target, "run")
        short = nightly(small, target, growth_days, per_day)
        result["growth"] = {
            "short_days": growth_days,
            "short_nightly": short,
            "nightly_ratio_long_vs_short": round(night["wall_s"] / short["wall_s"], 2),
            "facts_ratio_long_vs_short": round(night["facts_s"] / max(short["facts_s"], 0.01), 2),
        }
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return result


def table(result: dict[str, Any]) -> str:
    """The numbers a reader compares, one line each."""
    night = result["nightly"]
    lines = [
        f"{result['fct_video_observations_rows']:,} observations over {result['days']} days "
        f"({sum(result['raw_rows'].values()):,} raw rows, synthesized in "
        f"{result['synthesize_s']} s)",
        f"{'step':40} {'wall s':>8} {'nodes s':>8} {'facts s':>8}",
    ]
    rows = [
        ("full build from scratch (dbt run)", result["full_build"]),
        ("data tests (dbt test)", result["tests"]),
        (f"nightly {night['day']} (--vars window)", night),
        ("full rebuild (dbt run --full-refresh)", result["full_refresh"]),
    ]
    if "growth" in result:
        rows.append(
            (f"nightly on {result['growth']['short_days']} days", result["growth"]["short_nightly"])
        )
    lines += [
        f"{name:40} {r['wall_s']:>8} {r['nodes_s']:>8} {r['facts_s']:>8}" for name, r in rows if r
    ]
    if "growth" in result:
        growth = result["growth"]
        lines.append(
            f"growth {result['days']} vs {growth['short_days']} days: nightly wall x"
            f"{growth['nightly_ratio_long_vs_short']}, facts x{growth['facts_ratio_long_vs_short']}"
        )
    same = "equals" if result["incremental_equals_full"] else "DIFFERS FROM"
    lines.append(
        f"new day: incremental {same} full rebuild ({result['new_day_rows']['incremental']:,} rows)"
    )
    lines.append(f"peak dbt RSS {result['peak_rss_mib']} MiB")
    return "\n".join(lines)


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--observations", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--growth-days", type=int, default=7, help="0 skips the growth case")
    parser.add_argument("--no-tests", action="store_true", help="skip timing `dbt test`")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-models-") as work:
        result = measure(
            args.observations, args.days, args.growth_days, Path(work), not args.no_tests
        )
    result["command"] = " ".join(["python -m bench.models", *(argv or sys.argv[1:])])
    result["commit"] = commit()
    print(table(result))
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"models-{datetime.now(UTC):%Y-%m-%d}-{result['commit']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return 0 if result["incremental_equals_full"] else 1


if __name__ == "__main__":
    sys.exit(main())
