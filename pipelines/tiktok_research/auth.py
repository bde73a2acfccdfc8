"""TikTok Research auth: the client-credentials token and the daily-quota meter.

Every research request the vendor sees is counted where its Authorization header is made
(`MeteredAuth`), retries and the resend after a 401 included, so the quota accounting is
exact per attempt, not per page; the request over the budget is refused unsent.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..errors import AuthError, MalformedResponse, QuotaExhausted
from ..http import AuthProvider, VendorClient
from ..redaction import Secret, register
from .settings import (
    CREDENTIALS_HINT,
    DAILY_QUOTA,
    PROFILE,
    TOKEN_PATH,
    TOKEN_REFRESH_MARGIN,
    TOKEN_TTL_SECONDS,
)


class OAuthToken:
    """Client-credentials access token: fetched on first use, refreshed before it expires.

    Implements `pipelines.http.AuthProvider`; the shared client calls `invalidate()` once
    when the API answers 401, so a token revoked early is replaced, not retried blindly.
    """

    def __init__(
        self,
        client: VendorClient,
        client_key: Secret,
        client_secret: Secret,
        clock: Callable[[], float] = time.monotonic,
        margin: float = TOKEN_REFRESH_MARGIN,
    ) -> None:
        self._client, self._key, self._secret = client, client_key, client_secret
        self._clock, self._margin = clock, margin
        self._token: Secret | None = None
        self._expires_at = 0.0
        self.fetched = 0

    def header(self) -> str:
        if self._token is None or self._clock() >= self._expires_at - self._margin:
            self._fetch()
        assert self._token is not None
        return f"Bearer {self._token.reveal()}"

    def invalidate(self) -> None:
        self._token = None

    def _fetch(self) -> None:
        try:
            response = self._client.request(
                "POST",
                TOKEN_PATH,
                form={
                    "client_key": self._key.reveal(),
                    "client_secret": self._secret.reveal(),
                    "grant_type": "client_credentials",
                },
            )
        except AuthError as exc:
            raise exc.with_hint(CREDENTIALS_HINT) from None
        body = response.body if isinstance(response.body, dict) else {}
        token, ttl = body.get("access_token"), body.get("expires_in", TOKEN_TTL_SECONDS)
        if not isinstance(token, str) or not token or not isinstance(ttl, int | float):
            raise MalformedResponse(
                PROFILE.name,
                "the token answer has no access_token / expires_in",
                endpoint=f"POST {TOKEN_PATH}",
                status=response.status,
                request_id=response.request_id,
            )
        register(token)
        self._token = Secret(token)
        self._expires_at = self._clock() + float(ttl)
        self.fetched += 1


class RequestBudget:
    """Research requests this run sent, against the daily quota (a per-run estimate).

    Every request the vendor sees counts, not every logical call: the first try, each retry
    of a 5xx / 429 / timeout and the resend after a 401 (see MeteredAuth). The API does not
    say how much of the day's quota other runs spent, so `left` assumes this run is the
    day's only one; the vendor's own 429 remains the authority.
    """

    def __init__(self, limit: int = DAILY_QUOTA) -> None:
        self.limit, self.spent = limit, 0

    @property
    def left(self) -> int:
        return max(0, self.limit - self.spent)

    def spend(self) -> None:
        """Count one request about to be sent; refuse the one over the limit, unsent."""
        if self.spent >= self.limit:
            raise QuotaExhausted(
                PROFILE.name,
                f"this run reached its budget of {self.limit} research requests",
                hint="the daily quota is 1000 requests; re-run the failed partitions tomorrow",
            )
        self.spent += 1


class MeteredAuth:
    """The research client's AuthProvider: the access token, one budget request per attempt.

    The shared client asks its provider for a header before every attempt it sends, retries
    and the 401 resend included, so this is where each request is counted, and where the
    one that would exceed the budget is stopped before it leaves. Token requests (free) are
    made by the token's own client and not counted.
    """

    def __init__(self, token: AuthProvider, budget: RequestBudget) -> None:
        self._token, self.budget = token, budget

    def header(self) -> str:
        header = self._token.header()
        self.budget.spend()
        return header

    def invalidate(self) -> None:
        self._token.invalidate()
