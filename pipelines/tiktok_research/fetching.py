"""TikTok Research fetching: the video query's window crawl and the query task's lifecycle
(create, poll, read, cancel), their pages walked by the shared paging core.

Both page walks are a body cursor with `has_more` (`CursorPaginator`); the video query
carries its `search_id` into the next page. A cursor that does not move forward would
spend the daily quota on the same page, so it is a malformed answer, not a stop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import InvalidRequest, MalformedResponse, ServerError, VendorError
from ..fields import to_int
from ..http import VendorClient, VendorResponse
from ..paging import CursorPaginator, Page, Params, paginate
from .params import Window, query_body, task_body
from .parsing import PublishDayShapes, parse_video
from .settings import (
    MAX_WINDOW_RESTARTS,
    PROFILE,
    QUERY_FIELDS,
    QUERY_PATH,
    TASK_CANCEL_PATH,
    TASK_CANCELLED,
    TASK_CREATE_PATH,
    TASK_DONE,
    TASK_FAILED,
    TASK_LIMIT_MAX,
    TASK_PENDING,
    TASK_RESULT_PAGE,
    TASK_RESULT_PATH,
    TASK_STATUS_PATH,
    QueryTaskError,
    ResearchQuery,
    TaskLimitReached,
)

logger = logging.getLogger(__name__)


def _data(response: VendorResponse, endpoint: str, what: str) -> dict[str, Any]:
    body = response.body
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise MalformedResponse(
            PROFILE.name,
            f"`data` should be an object ({what})",
            endpoint=endpoint,
            status=response.status,
            request_id=response.request_id,
        )
    return data


def _next_cursor(
    data: dict[str, Any], cursor: int, response: VendorResponse, endpoint: str, what: str
) -> int:
    """The page's next cursor; one that does not move forward would loop on the quota."""
    try:
        next_cursor = to_int(data.get("cursor"), "cursor", required=True)
    except ValueError as exc:
        next_cursor, problem = None, str(exc)
    else:
        problem = f"`cursor` did not advance ({cursor} -> {next_cursor})"
    if next_cursor is None or next_cursor <= cursor:
        raise MalformedResponse(
            PROFILE.name,
            f"{problem} on {what}",
            endpoint=endpoint,
            status=response.status,
            request_id=response.request_id,
        )
    return next_cursor


def _page_videos(
    response: VendorResponse,
    endpoint: str,
    what: str,
    query_name: str,
    pulled_at: datetime,
    shapes: PublishDayShapes | None = None,
) -> list[dict[str, Any]]:
    """The page's videos as rows, each tallied in `shapes` first; a bad one is malformed."""
    data = _data(response, endpoint, what)
    videos = data.get("videos", [])
    if not isinstance(videos, list):
        raise MalformedResponse(
            PROFILE.name,
            f"`data.videos` should be a list ({what})",
            endpoint=endpoint,
            status=response.status,
            request_id=response.request_id,
        )
    rows = []
    for index, item in enumerate(videos):
        if shapes is not None:
            shapes.add(item)
        try:
            rows.append(parse_video(item, query_name, pulled_at, response.request_id))
        except ValueError as exc:
            raise MalformedResponse(
                PROFILE.name,
                f"{exc} (video {index + 1} of {what})",
                endpoint=endpoint,
                status=response.status,
                request_id=response.request_id,
                hint="the vendor changed its payload; complete windows are kept",
            ) from None
    return rows


def _restartable(exc: VendorError) -> bool:
    """A search that broke mid-crawl: a 5xx that outlasted retries, or an expired search_id."""
    if isinstance(exc, ServerError):
        return True
    return isinstance(exc, InvalidRequest) and "search_id" in exc.vendor_message.lower().replace(
        " ", "_"
    )


def _video_pages(
    fetch: Callable[[Params], VendorResponse],
    first: Params,
    *,
    endpoint: str,
    what: Callable[[int], str],
    cursor_what: Callable[[int], str],
    query_name: str,
    now: Callable[[], datetime],
    shapes: PublishDayShapes | None,
    carry: Mapping[str, str] | None = None,
) -> Iterator[Page]:
    """The pages of one cursor walk, in order, each page's `items` its parsed rows.

    `what(n)` names page n in a malformed-page error, `cursor_what(n)` in a cursor that did
    not advance (read after the page's items, so the page number is the one just parsed).
    """
    parsing = 0

    def items(response: VendorResponse, number: int) -> list[Any]:
        nonlocal parsing
        parsing = number
        return _page_videos(response, endpoint, what(number), query_name, now(), shapes)

    def next_cursor(response: VendorResponse, cursor: int) -> int:
        data = response.body["data"]  # an object: `items` checked it
        return _next_cursor(data, cursor, response, endpoint, cursor_what(parsing))

    paginator = CursorPaginator(
        cursor_path="data.cursor",
        has_more_path="data.has_more",
        carry=carry,
        start=0,
        next_cursor=next_cursor,
    )
    return paginate(fetch, first, paginator, items)


def crawl_window(
    client: VendorClient,
    query: ResearchQuery,
    window: Window,
    *,
    max_count: int,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    shapes: PublishDayShapes | None = None,
) -> list[dict[str, Any]]:
    """Every video of one query in one window, pages followed while `has_more`.

    A short page does not end the crawl (only `has_more` does). A broken search restarts
    the window with a fresh search, at most MAX_WINDOW_RESTARTS times; rows are keyed by id,
    so pages seen twice are not doubled and the restart's fresher counts win. Every raw
    video is tallied in `shapes` (schema drift), a page that fails to parse too.
    """
    rows: dict[int, dict[str, Any]] = {}
    first = query_body(query.groups("query"), window, max_count)
    fields = {"fields": ",".join(QUERY_FIELDS)}

    def what(number: int) -> str:
        return f"page {number} of {query.name} {window.label()}"

    for attempt in range(MAX_WINDOW_RESTARTS + 1):
        page = 0
        try:
            for answer in _video_pages(
                lambda body: client.post(QUERY_PATH, body, fields),
                first,
                endpoint=f"POST {QUERY_PATH}",
                what=what,
                cursor_what=what,
                query_name=query.name,
                now=now,
                shapes=shapes,
                carry={"data.search_id": "search_id"},
            ):
                page = answer.number
                rows.update((row["id"], row) for row in answer.items)
            return list(rows.values())
        except (ServerError, InvalidRequest) as exc:
            if not _restartable(exc) or attempt == MAX_WINDOW_RESTARTS:
                raise
            logger.warning(
                "%s %s: search broke at page %d (%s); restarting the window, %d rows kept",
                query.name,
                window.label(),
                page + 1,
                exc.vendor_message,
                len(rows),
            )
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class TaskSettings:
    """How long to wait for a query task and how often to ask (delays double up to poll_max)."""

    limit: int = 1000
    timeout_seconds: float = 900.0
    poll_initial: float = 1.0
    poll_max: float = 30.0


def run_task(
    client: VendorClient,
    query: ResearchQuery,
    window: Window,
    *,
    settings: TaskSettings,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    shapes: PublishDayShapes | None = None,
) -> list[dict[str, Any]]:
    """Create a query task, poll it with backoff until Completed, fetch every result page.

    AnalysisFailed and Cancelled end with a QueryTaskError; a result as long as the task's
    `limit` was cut off by the vendor, so it ends with TaskLimitReached and nothing of the
    window is returned (its partial days would replace complete ones). A task that outlives
    `timeout_seconds`, or a run interrupted meanwhile (Dagster's termination raises inside
    the step, from the moment the task id is known), is cancelled before the error
    propagates.
    """
    label = f"query task ({query.name} {window.label()})"
    task_id: int | None = None
    finished = False
    try:
        created = client.post(
            TASK_CREATE_PATH, task_body(query.groups("task"), window, settings.limit)
        )
        task_id = to_int(
            _data(created, f"POST {TASK_CREATE_PATH}", "create").get("task_id"),
            "task_id",
            required=True,
        )
        label = f"query task {task_id} ({query.name} {window.label()})"
        started, delay = clock(), settings.poll_initial
        while True:
            status_answer = client.post(TASK_STATUS_PATH, {"task_id": task_id})
            status = _data(status_answer, f"POST {TASK_STATUS_PATH}", label).get("status")
            if status == TASK_DONE:
                break
            if status in (TASK_FAILED, TASK_CANCELLED):
                finished = True
                raise QueryTaskError(
                    PROFILE.name,
                    f"{label} ended {status}",
                    endpoint=f"POST {TASK_STATUS_PATH}",
                    request_id=status_answer.request_id,
                    hint=(
                        "the vendor could not analyse the query: check its conditions"
                        if status == TASK_FAILED
                        else "someone or something cancelled it at the vendor, not this run"
                    )
                    + "; complete windows are kept, re-run the partition",
                )
            if status not in TASK_PENDING:
                raise MalformedResponse(
                    PROFILE.name,
                    f"{label}: unknown status {status!r}",
                    endpoint=f"POST {TASK_STATUS_PATH}",
                    request_id=status_answer.request_id,
                )
            if clock() - started + delay > settings.timeout_seconds:
                raise QueryTaskError(
                    PROFILE.name,
                    f"{label} still {status} after {settings.timeout_seconds:.0f}s; cancelled",
                    hint="raise task_timeout_seconds in the watchlist or narrow the query",
                )
            sleep(delay)
            delay = min(settings.poll_max, delay * 2)
        rows: dict[int, dict[str, Any]] = {}
        served = 0
        for answer in _video_pages(
            lambda body: client.post(TASK_RESULT_PATH, body),
            {"task_id": task_id, "cursor": 0, "max_count": TASK_RESULT_PAGE},
            endpoint=f"POST {TASK_RESULT_PATH}",
            what=lambda number: f"result page {number} of {label}",
            cursor_what=lambda number: f"result page {number}",
            query_name=query.name,
            now=now,
            shapes=shapes,
        ):
            rows.update((row["id"], row) for row in answer.items)
            served += len(answer.items)
            if served >= settings.limit:
                finished = True
                raise TaskLimitReached(
                    PROFILE.name,
                    f"{label} returned {served} videos, its limit of {settings.limit}: the "
                    f"vendor cut the result off, so nothing of {query.name} {window.label()} "
                    "is loaded (a partial day would replace a complete one)",
                    endpoint=f"POST {TASK_RESULT_PATH}",
                    request_id=answer.response.request_id,
                    hint="raise tiktok_research.task_limit in the watchlist "
                    f"(at most {TASK_LIMIT_MAX}) or lower tiktok_research.window_days so each "
                    "task holds fewer videos; other queries and complete windows are kept",
                )
        finished = True
        return list(rows.values())
    except BaseException:
        if task_id is not None and not finished:
            _cancel(client, task_id, label)
        raise


def _cancel(client: VendorClient, task_id: int, label: str) -> None:
    """Best effort: a cancel that fails is logged, the original error is what propagates."""
    try:
        answer = client.post(TASK_CANCEL_PATH, {"task_id": task_id})
        data = answer.body.get("data") if isinstance(answer.body, dict) else answer.body
        logger.warning("cancelled %s: %s", label, data)
    except VendorError as exc:
        logger.error("could not cancel %s: %s", label, exc)
