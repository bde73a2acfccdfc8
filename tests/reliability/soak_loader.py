"""One long-lived loading process for the soak: a KeyAPI day partition per line of stdin.

    python -m tests.reliability.soak_loader LAKE

For each line (`2026-10-01`) it runs that night's load as the nightly does (a fresh pipeline
and working dir, state synced from the lake) and prints one JSON line: the day, seconds, and
the process's peak RSS during that night alone (`VmHWM`, reset first through
/proc/self/clear_refs) and its RSS after it. A leak shows as nights that grow.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from pipelines.keyapi import keyapi_source
from pipelines.lake import Lake
from tests.reliability.nightly import WATCH, pipeline


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def load_night(lake: Lake, day: date) -> dict[str, object]:
    Path("/proc/self/clear_refs").write_text("5")  # restart the peak RSS count
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="soak-dlt-"))
    load = pipeline(lake, "video_rankings_daily", workdir)
    load.run(keyapi_source(period="day", dates=[day], **WATCH), loader_file_format="parquet")
    shutil.rmtree(workdir)
    return {
        "day": day.isoformat(),
        "seconds": round(time.monotonic() - started, 2),
        "peak_rss_mb": round(_status_kb("VmHWM") / 1024, 1),
        "rss_mb": round(_status_kb("VmRSS") / 1024, 1),
    }


def main(root: str) -> None:
    lake = Lake.from_settings(root)
    for line in sys.stdin:
        print(json.dumps(load_night(lake, date.fromisoformat(line.strip()))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
