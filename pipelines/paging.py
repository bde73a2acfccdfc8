"""The one paging core the vendor modules walk their lists with, shaped like dlt's paginators.

dlt's own paginators (`dlt.sources.helpers.rest_client.paginators`) drive `requests` objects
inside dlt's `RESTClient`; our vendors go through `VendorClient` (httpx, retries, the rate
limit, the error taxonomy, units and credits), so the same interface — `init_request`,
`update_state`, `update_request`, `has_next_page` — is kept over a request's parameters and a
`VendorResponse`. What a paginator cannot know stays with the caller as hooks: `before_page`
(a units budget or a quota that must stop the walk before a request is sent) and the items
extractor (the vendor's envelope and its malformed-page errors). `in_flight` keeps several
independent walks outstanding at once, up to the vendor's limit, answered in their order.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from .http import VendorResponse, dig

Stop = Literal["end", "depth", "short_page", "repeated_cursor"]
Params = dict[str, Any]
Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class Page:
    """One answered page: its 1-based number, the parameters sent, the answer, its items."""

    number: int
    params: Params
    response: VendorResponse
    items: list[Any]


class Paginator(ABC):
    """dlt's `BasePaginator` over request parameters; `stopped` says why the walk ended."""

    def __init__(self) -> None:
        self.has_next_page = True
        self.stopped: Stop | None = None

    def init_request(self, params: Params) -> None:  # noqa: B027 - optional, as in dlt
        """Set the first page's parameters."""

    def params_for(self, params: Params, number: int) -> Params | None:
        """Page `number`'s parameters when they are known before the previous answer."""
        return None

    @abstractmethod
    def update_state(self, response: VendorResponse, items: list[Any]) -> None:
        """Read the answer: where the next page is, or that there is none."""

    @abstractmethod
    def update_request(self, params: Params) -> None:
        """Point the parameters at the next page."""

    def end(self, why: Stop) -> None:
        """No more pages, and why."""
        self.has_next_page = False
        self.stopped = why


class PageNumberPaginator(Paginator):
    """`page` = 1, 2, ... until `total_pages_path` is reached, an empty page, or a short one.

    Without a total, a page holding fewer than `page_size` items is the last (KeyAPI).
    `to_total` reads a total the vendor may send as digits or a whole float (Trendtrack).
    """

    def __init__(
        self,
        page_param: str = "page",
        *,
        base_page: int = 1,
        page_size: int | None = None,
        total_pages_path: str | None = None,
        to_total: Callable[[Any], int | None] | None = None,
    ) -> None:
        super().__init__()
        self.page_param = page_param
        self.page = base_page
        self.base_page = base_page
        self.page_size = page_size
        self.total_pages_path = total_pages_path
        self.to_total = to_total

    def init_request(self, params: Params) -> None:
        params[self.page_param] = self.page

    def params_for(self, params: Params, number: int) -> Params | None:
        return {**params, self.page_param: self.base_page + number - 1}

    def update_state(self, response: VendorResponse, items: list[Any]) -> None:
        if not items:
            self.end("end")
        elif self.total_pages_path is not None:
            total = dig(response.body, self.total_pages_path)
            if self.to_total is not None:
                total = self.to_total(total)
            if not isinstance(total, int) or self.page - self.base_page + 1 >= total:
                self.end("end")
        elif self.page_size is not None and len(items) < self.page_size:
            self.end("short_page")

    def update_request(self, params: Params) -> None:
        self.page += 1
        params[self.page_param] = self.page


class OffsetPaginator(Paginator):
    """`offset` += `limit` while `has_more_path` is true (or, without it, full pages come).

    `advance="items"` moves the offset by the items received instead, so a short page that
    still has more (Influtics) is not skipped past; its next offset is then known only from
    the answer, so such pages are never requested ahead.
    """

    def __init__(
        self,
        limit: int,
        *,
        offset_param: str = "offset",
        limit_param: str = "limit",
        has_more_path: str | None = None,
        advance: Literal["limit", "items"] = "limit",
    ) -> None:
        super().__init__()
        self.limit, self.offset = limit, 0
        self.offset_param, self.limit_param = offset_param, limit_param
        self.has_more_path = has_more_path
        self.advance, self._step = advance, limit

    def init_request(self, params: Params) -> None:
        params[self.limit_param] = self.limit
        params[self.offset_param] = self.offset

    def params_for(self, params: Params, number: int) -> Params | None:
        if self.advance == "items":
            return None
        return {**params, self.offset_param: (number - 1) * self.limit}

    def update_state(self, response: VendorResponse, items: list[Any]) -> None:
        self._step = len(items) if self.advance == "items" else self.limit
        if self.has_more_path is not None:
            if dig(response.body, self.has_more_path) is not True:
                self.end("end")
        elif len(items) < self.limit:
            self.end("short_page")

    def update_request(self, params: Params) -> None:
        self.offset += self._step
        params[self.offset_param] = self.offset


class CursorPaginator(Paginator):
    """Follow `cursor_path` into `cursor_param` to its end marker, a has-more flag, or a repeat.

    A cursor the vendor already gave would walk the same pages forever on the quota, so it
    ends the walk (`repeated_cursor`). `carry` copies body paths into later requests (the
    Research `search_id`, which pins the result set the cursor walks). `start` is the cursor
    a first request without one stands for (so the vendor answering it is a repeat);
    `end_without` is a body path whose empty value also ends the walk (EnsembleData's
    followings end when `nextPageToken` does). `next_cursor(response, cursor)`, given the
    cursor last read (`start` before the first answer), reads the next one in place of
    `cursor_path` and raises the vendor's malformed-page error where the contract asks more
    than "not seen before" (Research: an integer that moves forward).
    """

    def __init__(
        self,
        cursor_param: str = "cursor",
        cursor_path: str = "cursor",
        *,
        has_more_path: str | None = None,
        carry: Mapping[str, str] | None = None,
        start: Any = None,
        end_without: str | None = None,
        next_cursor: Callable[[VendorResponse, Any], Any] | None = None,
    ) -> None:
        super().__init__()
        self.cursor_param, self.cursor_path = cursor_param, cursor_path
        self.start, self.end_without = start, end_without
        self.next_cursor = next_cursor
        self.has_more_path = has_more_path
        self.carry = dict(carry or {})
        self.cursor: Any = None
        self.seen: set[Any] = set()
        self._carried: Params = {}

    def init_request(self, params: Params) -> None:
        self.seen.add(params.get(self.cursor_param, self.start))

    def update_state(self, response: VendorResponse, items: list[Any]) -> None:
        self._carried = {
            param: value
            for path, param in self.carry.items()
            if (value := dig(response.body, path)) is not None
        }
        if self.has_more_path is not None and dig(response.body, self.has_more_path) is not True:
            self.end("end")
            return
        if self.next_cursor is None:
            cursor = dig(response.body, self.cursor_path)
        else:
            cursor = self.next_cursor(response, self.start if self.cursor is None else self.cursor)
        ended = self.end_without is not None and not dig(response.body, self.end_without)
        if cursor is None or cursor == "" or ended:
            self.end("end")
        elif cursor in self.seen:
            self.end("repeated_cursor")
        else:
            self.seen.add(cursor)
            self.cursor = cursor

    def update_request(self, params: Params) -> None:
        params[self.cursor_param] = self.cursor
        params.update(self._carried)


def paginate(
    fetch: Callable[[Params], VendorResponse],
    params: Mapping[str, Any],
    paginator: Paginator,
    items: Callable[[VendorResponse, int], list[Any]],
    *,
    max_pages: int | None = None,
    before_page: Callable[[Params, int], None] | None = None,
    ahead: int = 1,
) -> Iterator[Page]:
    """Yield each page in order until the paginator ends or `max_pages` (`depth`) is reached.

    `items(response, number)` takes the page's items out of the vendor's envelope (raising
    its malformed-page error); `before_page(params, number)` runs before each request and
    raises to stop the walk, so a budget is never overspent by one page. With `ahead` > 1
    and pages addressable by number (`params_for`), the first page goes alone and then that
    many requests are outstanding; pages past the last one cost a request each but are
    never yielded.
    """
    query: Params = dict(params)
    paginator.init_request(query)
    if ahead > 1 and paginator.params_for(query, 1) is not None:
        yield from _paginate_ahead(fetch, query, paginator, items, max_pages, before_page, ahead)
        return
    number = 0
    while paginator.has_next_page:
        if max_pages is not None and number >= max_pages:
            paginator.end("depth")
            return
        number += 1
        if before_page is not None:
            before_page(query, number)
        response = fetch(query)
        found = items(response, number)
        yield Page(number, dict(query), response, found)
        paginator.update_state(response, found)
        if paginator.has_next_page:
            paginator.update_request(query)


def _paginate_ahead(
    fetch: Callable[[Params], VendorResponse],
    query: Params,
    paginator: Paginator,
    items: Callable[[VendorResponse, int], list[Any]],
    max_pages: int | None,
    before_page: Callable[[Params, int], None] | None,
    ahead: int,
) -> Iterator[Page]:
    """`paginate` with `ahead` numbered pages requested at once after the first, in order."""

    def request(number: int) -> tuple[Params, VendorResponse]:
        sent = paginator.params_for(query, number) or {}
        if before_page is not None:
            before_page(sent, number)
        return sent, fetch(sent)

    def answered(number: int, sent: Params, response: VendorResponse) -> Page:
        page = Page(number, sent, response, items(response, number))
        paginator.update_state(response, page.items)
        return page

    # The first page goes alone: a refused key, a used-up quota or a one-page list is then
    # known before any other request is spent.
    if max_pages is not None and max_pages < 1:
        paginator.end("depth")
        return
    yield answered(1, *request(1))
    if not paginator.has_next_page:
        return
    rest = range(2, max_pages + 1) if max_pages is not None else itertools.count(2)
    for number, answer in in_flight(request, rest, ahead):
        page = answered(number, *answer.result())
        yield page
        if not paginator.has_next_page:
            return
    paginator.end("depth")


def in_flight(
    fetch: Callable[[Item], Result], items: Iterable[Item], limit: int
) -> Iterator[tuple[Item, Future[Result]]]:
    """`fetch` over `items` with `limit` calls outstanding, handed back in `items`' order.

    The client's rate limiter spaces the requests of all threads, so `limit` only hides
    each answer's latency; the order keeps a run's output, its stop point after an error
    and its "complete slices kept" exactly those of a serial walk; a `limit` of 1 is one
    request at a time. At most `limit` results are held. Leaving early cancels what has
    not started and waits for the rest.
    """
    pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="in-flight")
    pending: deque[tuple[Item, Future[Result]]] = deque()
    try:
        for item in items:
            pending.append((item, pool.submit(fetch, item)))
            if len(pending) >= limit:
                yield pending.popleft()
        while pending:
            yield pending.popleft()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
