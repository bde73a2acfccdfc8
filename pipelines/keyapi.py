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

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource

from .errors import MalformedResponse, VendorError
from .fields import RAW_CONTRACT, SeedShape, to_bool, to_int, to_text
from .http import ClientSettings, VendorClient, VendorProfile, VendorResponse
from .paging import PageNumberPaginator, paginate
from .report import RunReport

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.keyapi.ai"
VIDEO_RANKING_PATH = "/v1/tiktok/video/ranking/analytics"
MAX_PAGE_SIZE = 10
MAX_PAGE_NUM = 100_000
# Rows per arrow table handed to dlt: one table per 50-row list cost 2.6x in extract.
BATCH_ROWS = 10_000
RANK_FIELDS = {"views": 1, "sales": 2}
RANK_TYPES = {"day": 1, "week": 2, "month": 3}
TABLE_FOR_PERIOD = {
    "day": "video_rankings_daily",
    "week": "video_rankings_weekly",
    "month": "video_rankings_monthly",
}
ALL_CATEGORIES = "all"

SLICE_KEY = ("ranking_date", "region", "rank_field", "product_category_id")
PRIMARY_KEY = (*SLICE_KEY, "rank")
# What identifies a stored row across re-pulls: a re-pull may reorder a list, so the
# same video, not the same rank, is where a value the vendor stopped sending is kept.
ROW_KEY = (*SLICE_KEY, "video_id")


def _envelope_error(body: Any) -> tuple[int, str] | None:
    """KeyAPI can answer HTTP 200 with a non-zero `code`: treat that code as the status."""
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if code in (0, "0", None):
        return None
    status = int(code) if str(code).isdigit() and 100 <= int(code) <= 599 else 500
    return status, str(body.get("message") or "error")


PROFILE = VendorProfile(
    name="keyapi",
    auth="bearer",
    quota_statuses=frozenset({402}),
    credits_per_request=1.0,
    envelope_error=_envelope_error,
)

_COUNT_FIELDS = (
    "total_comments_cnt",
    "total_digg_cnt",
    "total_favorites_cnt",
    "total_shares_cnt",
    "total_video_sale_cnt",
    "total_video_sale_gmv_amt",
    "total_views_cnt",
)
_TEXT_FIELDS = ("unique_id", "nick_name", "avatar", "category", "reflow_cover", "video_desc")
# Every field of the seed's example item and its JSON type there: ids, `create_time` and
# `created_by_ai` are strings, counts are numbers, two lists are JSON inside strings.
SEED_FIELDS: dict[str, str] = {
    **dict.fromkeys(_COUNT_FIELDS, "number"),
    **dict.fromkeys(_TEXT_FIELDS, "string"),
    **dict.fromkeys(("video_id", "user_id", "create_time", "created_by_ai"), "string"),
    **dict.fromkeys(("duration", "sales_flag"), "number"),
    **dict.fromkeys(("region", "product_category_list", "video_products"), "string"),
}
_KNOWN_FIELDS = frozenset(SEED_FIELDS)
# The ranking's own region stands in when an item leaves `region` out.
_OPTIONAL_FIELDS = frozenset({"region"})

RANKING_SCHEMA = pa.schema(
    [
        pa.field("ranking_date", pa.date32(), nullable=False),
        pa.field("rank_type", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("rank_field", pa.string(), nullable=False),
        pa.field("product_category_id", pa.string(), nullable=False),
        pa.field("rank", pa.int64(), nullable=False),
        pa.field("video_id", pa.int64(), nullable=False),
        ("user_id", pa.int64()),
        ("unique_id", pa.string()),
        ("nick_name", pa.string()),
        ("avatar", pa.string()),
        ("category", pa.string()),
        ("create_time", pa.timestamp("us", tz="UTC")),
        ("created_by_ai", pa.bool_()),
        ("duration", pa.int64()),
        ("reflow_cover", pa.string()),
        ("sales_flag", pa.int64()),
        *[(name, pa.int64()) for name in _COUNT_FIELDS],
        ("video_desc", pa.string()),
        ("product_category_list", pa.string()),
        ("video_products", pa.string()),
        ("request_id", pa.string()),
    ]
)


@dataclass(frozen=True)
class RankingSlice:
    """One ranking list: what a merge replaces as a unit."""

    period: str
    ranking_date: date
    region: str
    rank_field: str
    product_category_id: str = ALL_CATEGORIES

    def label(self) -> str:
        return (
            f"{self.period} {self.ranking_date} {self.region} {self.rank_field} "
            f"category={self.product_category_id}"
        )

    def where(self) -> dict[str, Any]:
        """The slice key's values: which stored rows this slice replaces."""
        return dict(
            zip(
                SLICE_KEY,
                (self.ranking_date, self.region, self.rank_field, self.product_category_id),
                strict=True,
            )
        )

    def params(self, page_num: int, page_size: int, created_by_ai: bool | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "date": self.ranking_date.isoformat(),
            "region": self.region,
            "video_rank_field": RANK_FIELDS[self.rank_field],
            "rank_type": RANK_TYPES[self.period],
            "page_num": page_num,
            "page_size": page_size,
        }
        if self.product_category_id != ALL_CATEGORIES:
            params["product_category_id"] = self.product_category_id
        if created_by_ai is not None:
            params["created_by_ai"] = "true" if created_by_ai else "false"
        return params


def _json_text(value: Any, name: str) -> str | None:
    """Validate a JSON-in-a-string field and re-emit it with integers as strings.

    `video_products` holds 19-digit product ids as bare JSON numbers: re-emitting them
    as strings keeps every later JSON reader (DuckDB, pandas) from rounding them.
    """
    if value is None or value == "":
        return None
    try:
        parsed = json.loads(value, parse_int=str) if isinstance(value, str) else value
    except json.JSONDecodeError as exc:
        raise ValueError(f"field {name!r} is not valid JSON inside its string: {exc}") from None
    if not isinstance(parsed, list):
        raise ValueError(f"field {name!r} should hold a JSON list")
    return json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))


def parse_ranking_item(
    item: Any, ranking: RankingSlice, rank: int, request_id: str | None
) -> dict[str, Any]:
    """One raw ranking item -> one typed row. Raises ValueError naming the bad field."""
    if not isinstance(item, dict):
        raise ValueError(f"item should be an object, got {type(item).__name__}")
    create_time = to_int(item.get("create_time"), "create_time")
    row: dict[str, Any] = {
        "ranking_date": ranking.ranking_date,
        "rank_type": ranking.period,
        "region": item.get("region") or ranking.region,
        "rank_field": ranking.rank_field,
        "product_category_id": ranking.product_category_id,
        "rank": rank,
        "video_id": to_int(item.get("video_id"), "video_id", required=True),
        "user_id": to_int(item.get("user_id"), "user_id"),
        "create_time": None if create_time is None else datetime.fromtimestamp(create_time, tz=UTC),
        "created_by_ai": to_bool(item.get("created_by_ai"), "created_by_ai"),
        "duration": to_int(item.get("duration"), "duration"),
        "sales_flag": to_int(item.get("sales_flag"), "sales_flag"),
        "product_category_list": _json_text(
            item.get("product_category_list"), "product_category_list"
        ),
        "video_products": _json_text(item.get("video_products"), "video_products"),
        "request_id": request_id,
    }
    for name in _COUNT_FIELDS:
        row[name] = to_int(item.get(name), name)
    for name in _TEXT_FIELDS:
        row[name] = to_text(item.get(name), name)
    for name in set(item) - _KNOWN_FIELDS:
        value = item[name]
        column = f"vendor_{name}" if name in RANKING_SCHEMA.names else name
        row[column] = value if value is None or isinstance(value, str) else json.dumps(value)
    return row


def seed_shape(period: str) -> SeedShape:
    """The seed's item shape, for drift in the table of `period`."""
    return SeedShape(PROFILE.name, TABLE_FOR_PERIOD[period], SEED_FIELDS, optional=_OPTIONAL_FIELDS)


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Typed columns from the schema, plus any new vendor field as text (dlt evolves)."""
    extra = sorted({key for row in rows for key in row} - set(RANKING_SCHEMA.names))
    schema = RANKING_SCHEMA
    for name in extra:
        schema = schema.append(pa.field(name, pa.string()))
    return pa.Table.from_pylist(rows, schema=schema)


def fetch_slice(
    client: VendorClient,
    ranking: RankingSlice,
    *,
    pages: int,
    created_by_ai: bool | None = None,
    report: RunReport | None = None,
    in_flight: int = 1,
) -> list[dict[str, Any]]:
    """All rows of one ranking list, top `pages` pages; stops early on a short page.

    `in_flight` pages are requested at once (a short page's later ones are then wasted).

    The slice's drift goes to `report` even when a value fails to parse, so a retyped
    field is named in the run's metadata as well as in the failure.
    """
    rows: list[dict[str, Any]] = []
    tally = seed_shape(ranking.period).tally()

    def items(response: VendorResponse, page_num: int) -> list[Any]:
        body = response.body
        found = body.get("data") if isinstance(body, dict) else None
        if found is None and isinstance(body, dict) and "data" in body:
            return []
        if not isinstance(found, list):
            raise MalformedResponse(
                PROFILE.name,
                f"`data` should be a list for {ranking.label()} page {page_num}",
                endpoint=f"GET {VIDEO_RANKING_PATH}",
                status=response.status,
                request_id=response.request_id,
            )
        return found

    pages_of_slice = paginate(
        lambda params: client.get(VIDEO_RANKING_PATH, params),
        ranking.params(1, MAX_PAGE_SIZE, created_by_ai),
        PageNumberPaginator("page_num", page_size=MAX_PAGE_SIZE),
        items,
        max_pages=min(pages, MAX_PAGE_NUM),
        ahead=in_flight,
    )
    try:
        for page in pages_of_slice:
            for offset, item in enumerate(page.items):
                tally.add(item)
                rank = (page.number - 1) * MAX_PAGE_SIZE + offset + 1
                try:
                    rows.append(parse_ranking_item(item, ranking, rank, page.response.request_id))
                except ValueError as exc:
                    raise MalformedResponse(
                        PROFILE.name,
                        f"{exc} (item {offset + 1} of page {page.number}, {ranking.label()})",
                        endpoint=f"GET {VIDEO_RANKING_PATH}",
                        status=page.response.status,
                        request_id=page.response.request_id,
                        hint="the vendor changed its payload; re-run once fixed, "
                        "earlier slices are kept",
                    ) from None
    finally:
        if report is not None:
            report.note_drift(tally.drift(ranking.ranking_date.isoformat(), ranking.where()))
    return rows


def ranking_slices(
    period: str,
    dates: Sequence[date],
    regions: Sequence[str],
    rank_fields: Sequence[str],
    product_category_ids: Sequence[str] = (),
) -> list[RankingSlice]:
    """Every list to pull: the unfiltered one plus one per tracked category."""
    if period not in RANK_TYPES:
        raise ValueError(f"period must be one of {sorted(RANK_TYPES)}, got {period!r}")
    categories = (ALL_CATEGORIES, *product_category_ids)
    return [
        RankingSlice(period, day, region, field, category)
        for day in dates
        for region in regions
        for field in rank_fields
        for category in categories
    ]


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
