"""KeyAPI "Video Ranking (Analytics)": daily, weekly and monthly TikTok video rankings.

Endpoint: `GET /v1/tiktok/video/ranking/analytics` (seed `000_2f879721105b6020.txt`).
Ids, `create_time` and `created_by_ai` arrive as strings, counts as numbers, and two
fields hold JSON inside strings. The payload has no rank: it is the item's position
in page order. One request costs one credit.

Each ranking list (period start x region x rank field x category) is a slice that is
fetched whole, then yielded: a slice is merged on its natural key, so a re-run
replaces it and a half-fetched slice never overwrites a complete one.

Schema drift against the seed is noted per slice (`SEED_FIELDS`): a field absent from
every item, a field the seed does not have, a value of another JSON type. None of them
fails a run by itself; see `keyapi_source` for what each does to the table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource

from ..errors import VendorError
from ..fields import RAW_CONTRACT
from ..http import ClientSettings, VendorClient
from ..report import RunReport
from .fetching import fetch_slice
from .parsing import RANKING_SCHEMA, SEED_FIELDS, parse_ranking_item, rows_to_table, seed_shape
from .settings import (
    ALL_CATEGORIES,
    BATCH_ROWS,
    DEFAULT_BASE_URL,
    MAX_PAGE_NUM,
    MAX_PAGE_SIZE,
    PRIMARY_KEY,
    PROFILE,
    RANK_FIELDS,
    RANK_TYPES,
    ROW_KEY,
    SLICE_KEY,
    TABLE_FOR_PERIOD,
    VIDEO_RANKING_PATH,
    RankingSlice,
    ranking_slices,
)

__all__ = [
    "ALL_CATEGORIES",
    "DEFAULT_BASE_URL",
    "MAX_PAGE_NUM",
    "MAX_PAGE_SIZE",
    "PRIMARY_KEY",
    "PROFILE",
    "RANKING_SCHEMA",
    "RANK_FIELDS",
    "RANK_TYPES",
    "ROW_KEY",
    "SEED_FIELDS",
    "SLICE_KEY",
    "TABLE_FOR_PERIOD",
    "VIDEO_RANKING_PATH",
    "RankingSlice",
    "fetch_slice",
    "keyapi_source",
    "parse_ranking_item",
    "ranking_slices",
    "rows_to_table",
    "seed_shape",
]

logger = logging.getLogger(__name__)


@dlt.source(name="keyapi", max_table_nesting=0)
def keyapi_source(
    period: str = "day",
    dates: Sequence[date] = (),
    regions: Sequence[str] = ("US",),
    rank_fields: Sequence[str] = ("views", "sales"),
    product_category_ids: Sequence[str] = (),
    pages: int = 5,
    created_by_ai: bool | None = None,
    api_key: TSecretStrValue | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    requests_per_second: float = 5.0,
    read_timeout: float = 30.0,
    max_attempts: int = 6,
    backoff_base: float = 0.5,
    max_in_flight: int = 4,
    report: RunReport | None = None,
) -> DltResource:
    """Rankings of one period type for the given period starts (a partition window).

    `api_key`, `base_url` and the tuning values resolve from dlt config
    (`SOURCES__KEYAPI__API_KEY`, `SOURCES__KEYAPI__BASE_URL`, ...) when not passed.
    Pass a `RunReport` to read requests and credits afterwards, and call its
    `raise_if_stopped()` after loading: the source stops at a failure it cannot retry
    but yields every slice it completed first.

    Schema contract of `video_rankings_<period>` (`RAW_CONTRACT`): the table evolves on its
    first rows; columns evolve, so a field the seed lacks lands as a text column and is
    reported as `added` on every load that carries it (analysts may want it before we
    type it); a stored column's type is frozen. A value of another JSON type is reported
    as `type_change` and kept when it still reads as the column's type (a count sent as
    "123"); one that does not (a count sent as "n/a") stops the slice, because a NULL
    count would silently re-rank the marts. A field absent from a whole slice is reported
    as `missing`, and the ingest asset puts the stored values back (per `ROW_KEY`).
    The merge key is the slice key alone: a second key on a delete-insert merge makes
    DuckLake's delete quadratic, and the key checks prove (slice, rank) unique.

    Up to `max_in_flight` pages of a list are requested at once
    (`SOURCES__KEYAPI__MAX_IN_FLIGHT`), all under the one `requests_per_second` limit, and
    lists are walked one after another: rows, the stop point after an error and the
    slices kept are those of a serial walk. Rows go out in tables of up to `BATCH_ROWS`.
    """
    run_report = report if report is not None else RunReport()
    slices = ranking_slices(period, dates, regions, rank_fields, product_category_ids)
    settings = ClientSettings(
        read_timeout=read_timeout,
        max_attempts=max_attempts,
        backoff_base=backoff_base,
        requests_per_second=requests_per_second,
    )
    table = TABLE_FOR_PERIOD[period]
    run_report.row_keys[table] = ROW_KEY

    @dlt.resource(
        name=table,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        merge_key=SLICE_KEY,
        schema_contract=RAW_CONTRACT,
        columns={
            "video_id": {"data_type": "bigint", "nullable": False},
            "user_id": {"data_type": "bigint"},
            "rank": {"data_type": "bigint", "nullable": False},
            "create_time": {"data_type": "timestamp", "timezone": True},
        },
    )
    def video_rankings() -> Iterator[pa.Table]:
        if not slices:
            return
        try:
            client = VendorClient(PROFILE, base_url, api_key, settings, stats=run_report.requests)
        except VendorError as exc:
            run_report.stopped_by = exc
            return

        batch: list[dict[str, Any]] = []
        with client:
            for ranking in slices:
                try:
                    rows = fetch_slice(
                        client,
                        ranking,
                        pages=pages,
                        created_by_ai=created_by_ai,
                        report=run_report,
                        in_flight=max_in_flight,
                    )
                except VendorError as exc:
                    logger.error("stopping before %s: %s", ranking.label(), exc)
                    run_report.stopped_by = exc
                    break
                if not rows:
                    run_report.empty_slices.append(ranking.label())
                    continue
                run_report.count_rows(table, len(rows))
                batch.extend(rows)
                if len(batch) >= BATCH_ROWS:
                    yield rows_to_table(batch)
                    batch = []
        if batch:
            yield rows_to_table(batch)

    return video_rankings
