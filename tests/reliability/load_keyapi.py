"""A KeyAPI load in its own process, for tests that kill it.

`python -m tests.reliability.load_keyapi <lake dir> <first day> <days>`; vendor settings come
from the environment (the `sim` fixture).
"""

from __future__ import annotations

import sys
from datetime import date, timedelta

from assets.resources import WarehouseResource
from pipelines.keyapi import keyapi_source


def main(root: str, first: str, days: int) -> None:
    start = date.fromisoformat(first)
    pipeline = WarehouseResource(path=root).dlt_pipeline(
        "keyapi_video_rankings_daily", "raw_keyapi"
    )
    source = keyapi_source(
        period="day",
        dates=[start + timedelta(days=i) for i in range(days)],
        regions=["US", "GB"],
        rank_fields=["views", "sales"],
        pages=3,
    )
    pipeline.run(source, loader_file_format="parquet")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
