"""The engineer's path through the real UI: `scripts/ui.sh --simulator`, driven in Chromium.

Starts README's UI command (dagster dev: webserver, daemon and code server, plus the bundled
simulator with its keys exported) on a free loopback port, with a temporary DAGSTER_HOME and
lake. The lake already holds what the other jobs load (KeyAPI's week and month, a Research
day, today's snapshots; their runs recorded in that instance before the UI starts, so the
automation treats them as settled) and the staging views, as after a first nightly. Debian's
chromium, driven headless by Playwright (never a browser Playwright downloads), then uses the
UI's own buttons: it opens the lineage and sees every group, opens the KeyAPI daily ranking's
partitions, launches a 3-day backfill of `daily_job` (the ranking only), waits for it to
succeed, and sees the models' automation rebuild exactly those days of the day-partitioned
facts, with no human step. The lake must hold exactly those days, no
key may reach Dagster's storage, logs or the lake, and no process of the UI may outlive the
test. Screenshots are kept in `tests/artifacts/ui/` (or `$UI_SCREENSHOTS_DIR`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from assets.resources import WarehouseResource
from simulator.server import Simulator
from tests.conftest import (
    FAST_CLIENT,
    ROOT,
    free_port,
    lake_bytes,
    rows,
    session_pids,
    wait_for_dagster,
)

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
# Headless Chromium as root in a container, with nothing phoning home (docs: ARCHITECTURE.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("UI_SCREENSHOTS_DIR") or ROOT / "tests" / "artifacts" / "ui")
START_TIMEOUT = 120
BACKFILL_TIMEOUT = 240
# The automation sensor ticks every 30 s, then builds every model the ranking feeds.
AUTOMATION_TIMEOUT = 420
RANKING = "raw_keyapi/video_rankings_daily"
STAGED_DAILY = "staging/stg_keyapi__video_rankings_daily"
DAILY_FACTS = ("marts/fct_video_observations", "marts/fct_video_daily")


def _backfill_days(now: datetime) -> list[str]:
    """The three newest days KeyAPI has published (a day D on D+2 00:00 UTC)."""
    from assets.partitions import daily_partitions, latest_published_key

    newest = date.fromisoformat(latest_published_key(daily_partitions, now) or "")
    return [(newest - timedelta(days=back)).isoformat() for back in (2, 1, 0)]


def _seed_other_vendors(home: Path, lake: WarehouseResource, now: datetime) -> None:
    """What a first nightly leaves: every other vendor's raw tables, and their staging views.

    The daily facts read every vendor's staging view, so the backfill needs them in the lake;
    the ingest runs go through this instance, so the UI shows those assets materialized.
    The views are created by a plain `dbt run` (no tests): seconds, where a Dagster run of
    every model with its tests takes minutes here.
    """
    import dagster as dg

    from assets.definitions import defs
    from assets.partitions import PARTITIONS_BY_PERIOD, add_snapshot_day, latest_published_key
    from assets.resources import DbtResource

    runs = [
        (job, latest_published_key(PARTITIONS_BY_PERIOD[period], now))
        for job, period in (
            ("weekly_job", "week"),
            ("monthly_job", "month"),
            ("tiktok_research_job", "day"),
        )
    ]
    runs.append(("snapshot_job", now.date().isoformat()))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        add_snapshot_day(instance, now.date().isoformat())
        for job_name, key in runs:
            job = defs.resolve_job_def(job_name)
            ingest = [
                k for k in job.asset_layer.executable_asset_keys if k.path[0].startswith("raw_")
            ]
            result = job.execute_in_process(
                instance=instance, asset_selection=ingest, partition_key=key, raise_on_error=False
            )
            assert result.success, f"seeding {job_name} {key} failed"
    views = ["run", "--select", "staging", "--exclude", STAGED_DAILY.split("/")[1]]
    assert DbtResource(warehouse=lake).cli(views, raise_on_error=False).wait().is_successful()


@dataclass
class UI:
    url: str
    home: Path
    warehouse: WarehouseResource
    days: list[str]
    secrets: list[str]
    output: Path


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    """`bash scripts/ui.sh --simulator -p <free port>` on a seeded temporary lake and home."""
    tmp = tmp_path_factory.mktemp("ui")
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "instance" / "dagster.yaml", home / "dagster.yaml")
    watchlist = yaml.safe_load((ROOT / "watchlist.yaml").read_text())
    watchlist["keyapi"].update(regions=["US"], rank_fields=["views"], pages=2)
    # The other vendors only need tables for the models to read: one page of each walk.
    watchlist["ensembledata"]["max_pages"] = 1
    for kind in ("queries", "browse", "shops"):
        for entry in watchlist["trendtrack"][kind]:
            entry["max_pages"] = 1
    (tmp / "watchlist.yaml").write_text(yaml.safe_dump(watchlist))
    settings = {
        "DAGSTER_HOME": str(home),
        "WAREHOUSE_PATH": str(tmp / "lake"),
        "WATCHLIST_PATH": str(tmp / "watchlist.yaml"),
    }
    port = free_port()
    output = tmp / "ui.log"
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    # Seed before the UI starts: the automation's first tick then sees these runs as settled.
    now = datetime.now(UTC)
    with Simulator().start() as sim, pytest.MonkeyPatch.context() as env:
        secrets = [
            value
            for name, value in sim.source_env().items()
            if name.endswith(("__API_KEY", "__CLIENT_SECRET"))
        ]
        for name, value in {**settings, **sim.source_env()}.items():
            env.setenv(name, value)
        for vendor in sim.vendors:
            for name, value in FAST_CLIENT.items():
                env.setenv(f"SOURCES__{vendor.upper()}__{name}", value)
        _seed_other_vendors(home, WarehouseResource(path=settings["WAREHOUSE_PATH"]), now)
    # No SOURCES__ setting passes through: ui.sh must export the simulator's itself.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    # Dagster's in-process runs (the seeding) leave SIGTERM with SIGINT's disposition, and a
    # suite started in the background has SIGINT ignored: ui.sh would inherit SIGTERM ignored,
    # which no shell trap can undo, and the stop below would never reach it.
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with output.open("wb") as log:
            process = subprocess.Popen(
                ["bash", "scripts/ui.sh", "--simulator", "-p", str(port)],
                cwd=ROOT,
                env={**inherited, **settings},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own session: its processes are found by sid
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    try:
        print(f"\nseeded the other vendors in {time.monotonic() - started:.0f} s")
        wait_for_dagster(url, process, output, START_TIMEOUT)
        print(f"ui.sh served the UI after {time.monotonic() - started:.0f} s")
        yield UI(
            url,
            home,
            WarehouseResource(path=settings["WAREHOUSE_PATH"]),
            _backfill_days(now),
            secrets,
            output,
        )
    finally:
        # One SIGTERM to the script: its trap stops dagster dev's process group, then the
        # simulator's. Whatever is still alive after that is a leak, killed and reported.
        stopping = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=60)
        leftover = session_pids(process.pid)
        for pid in leftover:
            os.kill(pid, signal.SIGKILL)
        print(f"ui.sh stopped in {time.monotonic() - stopping:.0f} s")
        assert not leftover, f"ui.sh left processes behind: {leftover}"


def _launch_browser(playwright):  # Playwright's types are generated: left unannotated
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; scripts/test.sh does)")
    try:
        return playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
    except Exception as exc:  # Playwright raises its own Error for a browser that cannot start
        pytest.skip(f"{CHROMIUM} does not start headless here: {exc}")


def _backfill_status(page) -> str:  # a Playwright Page
    """The `Status` field of a backfill's page, e.g. `In progress` or `Succeeded`."""
    found = re.search(r"\nStatus\n([^\n]+)", page.inner_text("body"))
    return found.group(1).strip() if found else ""


def test_ui_backfill_through_the_browser_rebuilds_the_daily_facts(ui: UI) -> None:
    from playwright.sync_api import expect, sync_playwright

    from assets.definitions import defs

    started = time.monotonic()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    shots: list[Path] = []
    groups = sorted({node.group_name for node in defs.resolve_asset_graph().asset_nodes})
    first, last = ui.days[0], ui.days[-1]

    with sync_playwright() as playwright:
        browser = _launch_browser(playwright)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(30_000)
        # A new instance greets with a newsletter dialog once; dismiss it whenever it shows.
        page.add_locator_handler(
            page.get_by_text("Join the Dagster community"),
            lambda _: page.get_by_role("button", name="Skip").click(),
        )

        def shot(name: str) -> None:
            path = SCREENSHOTS / f"{len(shots) + 1:02d}-{name}.png"
            page.screenshot(path=str(path), full_page=True)
            shots.append(path)

        def nav(href: str) -> None:
            """A link of the left navigation bar, followed until its page is open."""
            page.locator(f'nav a[href="{href}"]').click()
            page.wait_for_url(re.compile(rf"^{re.escape(ui.url + href)}([?/].*)?$"))

        def search(query: str) -> None:
            """Type into the page's asset filter (a code editor, not an input)."""
            page.locator(".CodeMirror").first.click()
            page.keyboard.type(query)
            page.keyboard.press("Enter")
            suggestions = page.locator("[data-radix-popper-content-wrapper]")
            for _ in range(20):  # they cover the results until closed
                page.wait_for_timeout(250)
                page.keyboard.press("Escape")
                if suggestions.count() == 0:
                    break

        try:
            # 1. The lineage shows every group of the definitions.
            page.goto(ui.url)
            nav("/asset-groups")
            expect(page.get_by_text("Global asset lineage")).to_be_visible()
            for group in groups:
                expect(page.get_by_text(group, exact=True).first).to_be_visible()
            shot("lineage")

            # 2. The KeyAPI daily ranking's partitions: nothing materialized yet.
            nav("/assets")
            search("video_rankings_daily")
            page.locator(f'a[href="/assets/{RANKING}"]').first.click()
            page.get_by_role("tab", name="Partitions").click()
            expect(page.get_by_text("Materialized (0)")).to_be_visible()
            shot("ranking-partitions-before")

            # 3. daily_job (the ranking only: the models follow by automation), 3 days.
            nav("/jobs")
            page.locator('a[href$="/jobs/daily_job"]').first.click()
            # "Materialize…" for the job's one asset ("Materialize all…" when it has several)
            materialize = page.get_by_role("button", name=re.compile(r"Materialize( all)?…"))
            expect(materialize.get_by_role("progressbar")).to_have_count(0)  # still loading
            materialize.click()
            dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
            range_input = dialog.get_by_placeholder("No matching partitions")
            range_input.fill(f"[{first}...{last}]")
            range_input.press("Enter")
            expect(dialog.get_by_text("3 partitions")).to_be_visible()
            shot("launch-backfill")
            dialog.get_by_role("button", name="Launch backfill").click()

            # 4. The toast's link to the backfill's page, reloaded until the backfill ends.
            page.locator('a[href^="/runs/b/"]').first.click()
            deadline = time.monotonic() + BACKFILL_TIMEOUT
            while _backfill_status(page) in ("", "Requested", "In progress"):
                assert time.monotonic() < deadline, f"backfill not done in {BACKFILL_TIMEOUT} s"
                page.wait_for_timeout(2000)
                page.reload()
            shot("backfill-done")
            assert _backfill_status(page) == "Succeeded"

            # 5. The ranking, then the daily facts rebuilt by the automation with no human
            # step: exactly the backfilled days materialized.
            # A reloaded page renders its partitions only after its queries answer (seconds
            # on a loaded machine), so each look waits for them before it counts as a miss.
            deadline = time.monotonic() + AUTOMATION_TIMEOUT
            for key in (RANKING, *DAILY_FACTS):
                page.goto(f"{ui.url}/assets/{key}?view=partitions")
                while True:
                    try:
                        expect(page.get_by_text("Materialized (3)")).to_be_visible(timeout=15_000)
                        break
                    except AssertionError:
                        assert time.monotonic() < deadline, f"{key}: not rebuilt by automation"
                        page.reload()
                shot(key.split("/")[1] + "-partitions-after")
        except Exception:
            shot("failure")
            raise
        finally:
            browser.close()
            print(f"\nUI test took {time.monotonic() - started:.0f} s; screenshots:")
            for path in shots:
                print(f"  {path}")

    # Exactly the backfilled days landed, 20 ranked videos each (US, views, 2 pages), and the
    # facts hold them: every ranking row as an observation, and a daily row per video a day's
    # ranking or a lifetime counter saw (the seeded Influtics series reach back into these days;
    # weekly and monthly positions are no daily reading).
    by_day = [(day, 20) for day in ui.days]
    assert (
        rows(
            ui.warehouse,
            "select ranking_date::varchar, count(*) from raw_keyapi.video_rankings_daily "
            "group by 1 order by 1",
        )
        == by_day
    )
    assert (
        rows(
            ui.warehouse,
            "select observed_on::varchar, count(*) from marts.fct_video_observations "
            "where source_table = 'stg_keyapi__video_rankings_daily' group by 1 order by 1",
        )
        == by_day
    )
    window = f"observed_on between '{first}' and '{last}'"
    daily = rows(
        ui.warehouse,
        f"select observed_on::varchar, video_id from marts.fct_video_daily where {window}",
    )
    read = rows(
        ui.warehouse,
        "select distinct observed_on::varchar, video_id from marts.fct_video_observations "
        f"where {window} and (counter_kind = 'total' or period = 'day')",
    )
    assert len(daily) == len(set(daily)) and set(daily) == set(read)
    per_day = Counter(day for day, _ in daily)
    assert sorted(per_day) == ui.days and min(per_day.values()) >= 20

    # No key reached Dagster's storage (event logs, compute logs), the script's output or the lake.
    stored = b"".join(p.read_bytes() for p in ui.home.rglob("*") if p.is_file())
    lake = lake_bytes(ui.warehouse)
    output = ui.output.read_bytes()
    for secret in ui.secrets:
        assert secret.encode() not in stored, "a key in Dagster's storage"
        assert secret.encode() not in lake, "a key in the lake"
        assert secret.encode() not in output, "a key in the UI's output"
    # Start-up says nothing misleading: the repo keeps its instance settings in instance/,
    # so dagster dev finds no dagster.yaml it would ignore beside a DAGSTER_HOME.
    assert b"will not be used" not in output
