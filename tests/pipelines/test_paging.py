"""The paging core: each paginator walks exactly the pages a vendor's contract implies."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from pipelines.http import VendorResponse
from pipelines.paging import (
    CursorPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    Paginator,
    in_flight,
    paginate,
)


class Vendor:
    """Answers from a list of bodies, recording the parameters of every request."""

    def __init__(self, bodies: list[dict[str, Any]]) -> None:
        self.bodies = bodies
        self.sent: list[dict[str, Any]] = []

    def __call__(self, params: dict[str, Any]) -> VendorResponse:
        self.sent.append(dict(params))
        return VendorResponse(200, self.bodies[len(self.sent) - 1], None)


def walk(vendor: Vendor, paginator: Paginator, **kwargs: Any) -> list[list[Any]]:
    pages = paginate(vendor, {"q": "x"}, paginator, lambda r, n: r.body["data"], **kwargs)
    return [page.items for page in pages]


def test_page_numbers_stop_at_total_pages():
    vendor = Vendor([{"data": [1, 2], "pagination": {"totalPages": 2}}, {"data": [3]}] * 2)
    assert walk(vendor, PageNumberPaginator(total_pages_path="pagination.totalPages")) == [
        [1, 2],
        [3],
    ]
    assert [p["page"] for p in vendor.sent] == [1, 2]


def test_page_numbers_without_total_stop_on_a_short_page():
    vendor = Vendor([{"data": [1, 2]}, {"data": [3]}, {"data": [4, 5]}])
    paginator = PageNumberPaginator("page_num", page_size=2)
    assert walk(vendor, paginator) == [[1, 2], [3]]
    assert paginator.stopped == "short_page"
    assert vendor.sent == [{"q": "x", "page_num": 1}, {"q": "x", "page_num": 2}]


def test_an_empty_page_ends_the_walk_and_max_pages_is_the_depth():
    empty = PageNumberPaginator(page_size=1)
    assert walk(Vendor([{"data": [1]}, {"data": []}]), empty) == [[1], []]
    assert empty.stopped == "end"
    deep = PageNumberPaginator(page_size=1)
    assert walk(Vendor([{"data": [1]}] * 5), deep, max_pages=3) == [[1], [1], [1]]
    assert deep.stopped == "depth"


def test_offsets_follow_the_has_more_flag():
    vendor = Vendor([{"data": [1, 2], "has_more": True}, {"data": [3], "has_more": False}])
    assert walk(vendor, OffsetPaginator(2, has_more_path="has_more")) == [[1, 2], [3]]
    assert [(p["limit"], p["offset"]) for p in vendor.sent] == [(2, 0), (2, 2)]


def test_a_cursor_walks_to_its_end_marker():
    vendor = Vendor([{"data": [1], "nextCursor": 10}, {"data": [2], "nextCursor": ""}])
    paginator = CursorPaginator(cursor_path="nextCursor")
    assert walk(vendor, paginator) == [[1], [2]]
    assert paginator.stopped == "end"
    assert [p.get("cursor") for p in vendor.sent] == [None, 10]


def test_a_repeated_cursor_stops_instead_of_looping_on_the_quota():
    vendor = Vendor([{"data": [1], "c": 5}, {"data": [2], "c": 9}, {"data": [3], "c": 5}] * 2)
    paginator = CursorPaginator(cursor_path="c")
    assert walk(vendor, paginator) == [[1], [2], [3]]
    assert paginator.stopped == "repeated_cursor"
    assert len(vendor.sent) == 3


def test_the_start_cursor_answered_back_is_a_repeat():
    vendor = Vendor([{"data": [1], "c": 20}, {"data": [2], "c": 0}, {"data": [3], "c": 40}])
    paginator = CursorPaginator(cursor_path="c", start=0)
    assert walk(vendor, paginator) == [[1], [2]]
    assert paginator.stopped == "repeated_cursor"
    assert [p.get("cursor") for p in vendor.sent] == [None, 20]


def test_a_missing_page_token_ends_the_walk_and_a_present_one_is_carried():
    vendor = Vendor(
        [
            {"data": [1], "c": 10, "token": "a"},
            {"data": [2], "c": 20, "token": ""},
            {"data": [3], "c": 30, "token": "b"},
        ]
    )
    paginator = CursorPaginator(cursor_path="c", carry={"token": "page_token"}, end_without="token")
    assert walk(vendor, paginator) == [[1], [2]]
    assert paginator.stopped == "end"
    assert vendor.sent[1] == {"q": "x", "cursor": 10, "page_token": "a"}


def test_a_total_sent_as_digits_reads_through_to_total():
    bodies = [{"data": [n], "pages": "3"} for n in (1, 2, 3, 4)]
    as_is = PageNumberPaginator(total_pages_path="pages")
    assert walk(Vendor(bodies), as_is) == [[1]], "a total that is not an int ends the walk"
    read = PageNumberPaginator(total_pages_path="pages", to_total=int)
    assert walk(Vendor(bodies), read) == [[1], [2], [3]]
    assert read.stopped == "end"


def test_a_body_cursor_with_has_more_carries_the_search_id():
    vendor = Vendor(
        [
            {"data": [1], "cursor": 100, "has_more": True, "search_id": "s1"},
            {"data": [2], "cursor": 200, "has_more": True, "search_id": "s1"},
            {"data": [3], "cursor": 300, "has_more": False, "search_id": "s1"},
        ]
    )
    paginator = CursorPaginator(has_more_path="has_more", carry={"search_id": "search_id"})
    assert walk(vendor, paginator) == [[1], [2], [3]]
    assert vendor.sent[0] == {"q": "x"}
    assert vendor.sent[1:] == [
        {"q": "x", "cursor": 100, "search_id": "s1"},
        {"q": "x", "cursor": 200, "search_id": "s1"},
    ]


def test_a_budget_hook_stops_the_walk_before_the_request_it_cannot_pay():
    vendor = Vendor([{"data": [1], "c": n} for n in range(1, 10)])

    def budget(params: dict[str, Any], number: int) -> None:
        if number > 2:
            raise RuntimeError("units budget reached")

    pages = paginate(
        vendor,
        {},
        CursorPaginator(cursor_path="c"),
        lambda r, n: r.body["data"],
        before_page=budget,
    )
    with pytest.raises(RuntimeError, match="budget"):
        list(pages)
    assert len(vendor.sent) == 2


class SlowVendor:
    """Numbered pages of 2 items up to `last`; later pages answer sooner; counts overlap."""

    def __init__(self, last: int) -> None:
        self.last, self.busy, self.most, self.sent = last, 0, 0, []
        self.lock = threading.Lock()

    def __call__(self, params: dict[str, Any]) -> VendorResponse:
        page = params["page"]
        with self.lock:
            self.sent.append(page)
            self.busy += 1
            self.most = max(self.most, self.busy)
        time.sleep(0.05 / page)
        with self.lock:
            self.busy -= 1
        return VendorResponse(200, {"data": [page] * (2 if page < self.last else 1)}, None)


def test_pages_ahead_are_outstanding_together_and_come_back_in_page_order():
    vendor = SlowVendor(last=5)
    paginator = PageNumberPaginator(page_size=2)
    pages = paginate(vendor, {}, paginator, lambda r, n: r.body["data"], ahead=3, max_pages=9)
    assert [p.number for p in pages] == [1, 2, 3, 4, 5]
    assert paginator.stopped == "short_page"
    assert vendor.most == 3
    assert sorted(vendor.sent)[:5] == [1, 2, 3, 4, 5]
    assert len(vendor.sent) <= 5 + 2, "at most ahead - 1 pages past the last"


def test_one_in_flight_is_one_request_at_a_time():
    vendor = SlowVendor(last=3)
    pages = paginate(
        vendor, {}, PageNumberPaginator(page_size=2), lambda r, n: r.body["data"], ahead=1
    )
    assert [p.items for p in pages] == [[1, 1], [2, 2], [3]]
    assert (vendor.most, vendor.sent) == (1, [1, 2, 3])


def test_in_flight_hands_results_back_in_input_order():
    results = [
        (n, f.result())
        for n, f in in_flight(lambda n: time.sleep(0.02 / n) or n * n, range(1, 7), 3)
    ]
    assert results == [(n, n * n) for n in range(1, 7)]


def test_offsets_can_follow_the_items_received_and_are_then_never_requested_ahead():
    bodies = [{"data": [1, 2, 3], "more": True}, {"data": [4, 5], "more": True}]
    vendor = Vendor([*bodies, {"data": [6], "more": False}])
    paginator = OffsetPaginator(3, has_more_path="more", advance="items")
    assert walk(vendor, paginator, ahead=4) == [[1, 2, 3], [4, 5], [6]]
    assert [p["offset"] for p in vendor.sent] == [0, 3, 5]
    assert paginator.stopped == "end"


def test_a_next_cursor_hook_reads_the_cursor_and_its_error_stops_the_walk():
    vendor = Vendor([{"data": [n], "at": {"c": c}} for n, c in enumerate([4, 9, 9, 12])])
    given: list[Any] = []

    def forward(response: VendorResponse, cursor: Any) -> Any:
        given.append(cursor)
        if response.body["at"]["c"] <= cursor:
            raise ValueError(f"cursor did not advance ({cursor} -> {response.body['at']['c']})")
        return response.body["at"]["c"]

    paginator = CursorPaginator(start=0, next_cursor=forward)
    with pytest.raises(ValueError, match=r"did not advance \(9 -> 9\)"):
        walk(vendor, paginator)
    assert given == [0, 4, 9]
    assert [p.get("cursor") for p in vendor.sent] == [None, 4, 9]
