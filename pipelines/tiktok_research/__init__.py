"""TikTok Research API: raw video metadata and engagement counts for watched queries.

Seed `001_4628c6db6458f10e.txt` (the Research Query Service client) plus the Research facts
in seeds/README.md. Two ways to run one query, one row schema (`raw_tiktok_research.videos`):

    POST /v2/oauth/token/                   client credentials -> access token (7200 s)
    POST /v2/research/video/query/          mode "query": `fields` in the query string, JSON
                                            {query, start_date, end_date, max_count, cursor,
                                            search_id}; windows of at most 30 days
    POST /v2/research/query_task/create/    mode "task": {category, condition_groups, fields,
                                            limit} -> {task_id}
    POST /v2/research/query_task/status/    {task_id} -> {status}: Created, Validating,
                                            Processing, Completed, AnalysisFailed, Cancelled
    POST /v2/research/query_task/result/    {task_id, cursor, max_count} -> {videos, cursor,
                                            has_more}
    POST /v2/research/query_task/cancel/    {task_id} -> {success}

The seed documents the task lifecycle only through its Python SDK; the four task paths are
this project's REST mapping of it (served by the simulator, see simulator/tiktok_research.py).
Every answer is `{"data": ..., "error": {"code": "ok" | ..., "message", "log_id"}}`.

Field names differ by mode too: the HTTP video query asks for the public API's names
(`video_duration`, `is_stem_verified`, `hashtag_info_list`, ...; one unknown name and the
vendor refuses the whole request), the query task for the seed's (`duration_type`,
`stem_verified`). `parse_video` maps both onto one column per meaning.

Operators differ by mode. The query task takes the seed's table (LIKE on video_description,
CONTAINS on hashtag_names / effect_ids); the HTTP video query takes only EQ, IN, GT, GTE, LT,
LTE (seeds/README.md), with the real API's `hashtag_name` and `keyword` fields for hashtags
and description words. A LIKE / CONTAINS in mode query is refused before any request.

Rows are keyed `(query_name, id)` and merged with `(query_name, create_day)` as merge key:
a window is fetched whole, then yielded, so a re-pulled day replaces that query's rows of
the day (counts keep growing after publication) and a half-fetched window never lands; nor
does a task result cut off at `task_limit`. A 500 that outlasts the client's retries or an
expired `search_id` restarts the window with a fresh search and de-duplicates by id. Every
research request sent (retries and the resend after a 401 included) counts against the
1000-a-day quota per run; a daily-quota 429 stops the source after the windows it completed.

The package: `settings` (paths, limits, field and operator tables, profiles, the watch),
`params` (windows and request bodies), `parsing` (row schema, parser, seed shapes), `auth`
(token and quota meter), `fetching` (the walks); this module holds the dlt source.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource

from ..errors import AuthError, VendorError
from ..fields import RAW_CONTRACT
from ..http import ClientSettings, VendorClient
from ..redaction import Secret
from ..report import RunReport
from .auth import MeteredAuth, OAuthToken, RequestBudget
from .fetching import TaskSettings, crawl_window, run_task
from .params import Window, http_query, query_body, split_windows, task_body
from .parsing import (
    FIELD_TYPES,
    OMITTED_FIELDS,
    VIDEO_SCHEMA,
    PublishDayShapes,
    parse_video,
    rows_to_table,
    seed_shape,
)
from .settings import (
    ANY_FIELD_OPERATORS,
    CREDENTIALS_HINT,
    DAILY_QUOTA,
    DEFAULT_BASE_URL,
    DEFAULT_WINDOW_DAYS,
    FIELD_OPERATORS,
    MAX_COUNT,
    MAX_WINDOW_DAYS,
    MAX_WINDOW_RESTARTS,
    MERGE_KEY,
    PRIMARY_KEY,
    PROFILE,
    QUERY_FIELD_OPERATORS,
    QUERY_FIELDS,
    TABLE,
    TASK_FIELDS,
    TASK_LIMIT_MAX,
    TOKEN_PROFILE,
    Condition,
    ConditionGroup,
    Mode,
    QueryTaskError,
    ResearchQuery,
    ResearchWatch,
    TaskLimitReached,
    check_condition,
    validate_watch,
)

logger = logging.getLogger(__name__)

__all__ = [
    "ANY_FIELD_OPERATORS",
    "CREDENTIALS_HINT",
    "DAILY_QUOTA",
    "DEFAULT_BASE_URL",
    "DEFAULT_WINDOW_DAYS",
    "FIELD_OPERATORS",
    "FIELD_TYPES",
    "MAX_COUNT",
    "MAX_WINDOW_DAYS",
    "MAX_WINDOW_RESTARTS",
    "MERGE_KEY",
    "OMITTED_FIELDS",
    "PRIMARY_KEY",
    "PROFILE",
    "QUERY_FIELDS",
    "QUERY_FIELD_OPERATORS",
    "TABLE",
    "TASK_FIELDS",
    "TASK_LIMIT_MAX",
    "TOKEN_PROFILE",
    "VIDEO_SCHEMA",
    "Condition",
    "ConditionGroup",
    "MeteredAuth",
    "Mode",
    "OAuthToken",
    "PublishDayShapes",
    "QueryTaskError",
    "RequestBudget",
    "ResearchQuery",
    "ResearchWatch",
    "TaskLimitReached",
    "TaskSettings",
    "Window",
    "check_condition",
    "crawl_window",
    "http_query",
    "parse_video",
    "query_body",
    "rows_to_table",
    "run_task",
    "seed_shape",
    "split_windows",
    "task_body",
    "tiktok_research_source",
    "validate_watch",
]


@dlt.source(name="tiktok_research", max_table_nesting=0)
def tiktok_research_source(
    watch: ResearchWatch | Mapping[str, Any] | None = None,
    days: Sequence[date] = (),
    client_key: TSecretStrValue | None = dlt.secrets.value,
    client_secret: TSecretStrValue | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    requests_per_second: float = 1.0,
    read_timeout: float = 30.0,
    max_attempts: int = 6,
    backoff_base: float = 0.5,
    task_poll_seconds: float = 2.0,
    daily_quota: int = DAILY_QUOTA,
    report: RunReport | None = None,
    budget: RequestBudget | None = None,
) -> DltResource:
    """Videos of every watched query published on `days` (a partition range).

    Secrets resolve from `SOURCES__TIKTOK_RESEARCH__CLIENT_KEY` / `__CLIENT_SECRET`. The
    source stops at the first failure it cannot absorb, after yielding every complete
    window; the caller loads them and calls `report.raise_if_stopped()`. A task result cut
    off at `task_limit` stops only its query: the other queries go on, and the report is
    stopped by the cut-off at the end. Pass `budget` to read how many of the daily quota's
    requests the run sent.

    Schema drift against the mode's requested fields (`seed_shape`) is noted in the report
    per (query, publish day), a window that failed to parse too: a field absent from every
    video of the slice (the ingest asset keeps its stored values, per `PRIMARY_KEY`), a field
    not asked for (named, then dropped: the row schema is fixed), a value of another JSON
    type (kept when it still reads as the column's type, else the window stops). The table's
    schema contract is `RAW_CONTRACT`: a stored column's type is frozen.
    """
    spec = validate_watch(watch)
    run_report = report if report is not None else RunReport()
    run_budget = budget if budget is not None else RequestBudget(daily_quota)
    run_budget.limit = daily_quota  # a caller's budget is there to be read, the cap is config
    windows = split_windows(days, spec.window_days)
    settings = ClientSettings(
        read_timeout=read_timeout,
        max_attempts=max_attempts,
        backoff_base=backoff_base,
        requests_per_second=requests_per_second or None,
    )
    task_settings = TaskSettings(
        spec.task_limit, spec.task_timeout_seconds, task_poll_seconds, max(task_poll_seconds, 30.0)
    )
    shape = seed_shape(spec.mode)
    run_report.row_keys[TABLE] = PRIMARY_KEY

    @dlt.resource(
        name=TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=PRIMARY_KEY,
        merge_key=MERGE_KEY,
        schema_contract=RAW_CONTRACT,
        columns={
            "id": {"data_type": "bigint", "nullable": False},
            "music_id": {"data_type": "bigint"},
            "playlist_id": {"data_type": "bigint"},
            "create_time": {"data_type": "timestamp", "timezone": True, "nullable": False},
            "create_day": {"data_type": "date", "nullable": False},
            "pulled_at": {"data_type": "timestamp", "timezone": True},
            "video_duration": {"data_type": "bigint"},
            "hashtag_names": {"data_type": "json"},
            "effect_ids": {"data_type": "json"},
            "video_mention_list": {"data_type": "json"},
            "hashtag_info_list": {"data_type": "json"},
            "video_label": {"data_type": "json"},
        },
    )
    def videos() -> Iterator[pa.Table]:
        if not windows:
            return
        if not client_key or not client_secret:
            run_report.stopped_by = AuthError(
                PROFILE.name, "no client_key / client_secret is configured", hint=CREDENTIALS_HINT
            )
            return
        try:
            token_client = VendorClient(
                TOKEN_PROFILE, base_url, None, settings, stats=run_report.requests
            )
            token = OAuthToken(token_client, Secret(client_key), Secret(client_secret))
            client = VendorClient(
                PROFILE,
                base_url,
                None,
                settings,
                stats=run_report.requests,
                auth_provider=MeteredAuth(token, run_budget),
                # One requests-per-second limit for the vendor: a token refresh counts too.
                limiter=token_client.limiter,
            )
        except VendorError as exc:
            run_report.stopped_by = exc
            return
        cut_off: dict[str, TaskLimitReached] = {}  # query name -> its first cut-off window
        with token_client, client:
            for window in windows:
                for query in spec.queries:
                    label = f"{query.name} {window.label()}"
                    if query.name in cut_off:
                        continue  # its settings need raising first (see the error's hint)
                    shapes = PublishDayShapes(shape, query.name, window)
                    try:
                        if spec.mode == "task":
                            rows = run_task(
                                client, query, window, settings=task_settings, shapes=shapes
                            )
                        else:
                            rows = crawl_window(
                                client, query, window, max_count=spec.max_count, shapes=shapes
                            )
                    except TaskLimitReached as exc:
                        logger.error("skipping the rest of %s: %s", query.name, exc)
                        cut_off[query.name] = exc
                        continue
                    except VendorError as exc:
                        if isinstance(exc, AuthError):
                            exc = exc.with_hint(CREDENTIALS_HINT)
                        logger.error("stopping before %s is complete: %s", label, exc)
                        run_report.stopped_by = exc
                        return
                    finally:
                        run_report.note_drift(shapes.drift())
                    if not rows:
                        run_report.empty_slices.append(label)
                        continue
                    run_report.count_rows(TABLE, len(rows))
                    yield rows_to_table(rows)
        if cut_off:
            first = next(iter(cut_off.values()))
            if len(cut_off) > 1:
                first = TaskLimitReached(
                    PROFILE.name,
                    f"{first.vendor_message}; also cut off: {', '.join(list(cut_off)[1:])}",
                    endpoint=first.endpoint,
                    request_id=first.request_id,
                    hint=first.hint,
                )
            run_report.stopped_by = first

    return videos
