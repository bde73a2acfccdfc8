"""The error taxonomy every vendor's failures map onto.

A run that fails must say what failed, where, and what to do next, without the
secret. Every error carries the vendor, the endpoint (path only, never a query
string that could hold a token), the HTTP status, the vendor's own message and
request id, and a hint; its text is redacted before it is built.
"""

from __future__ import annotations

from .redaction import redact


class VendorError(Exception):
    """Base of all vendor failures; `retryable` tells the client whether to try again."""

    retryable = False
    kind = "vendor error"

    def __init__(
        self,
        vendor: str,
        message: str,
        *,
        endpoint: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.vendor = vendor
        self.endpoint = endpoint
        self.status = status
        self.request_id = request_id
        self.vendor_message = redact(message)
        self.hint = redact(hint) if hint else None
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = f" {self.endpoint}" if self.endpoint else ""
        status = f" HTTP {self.status}" if self.status is not None else ""
        parts = [f"[{self.vendor}]{where}{status} {self.kind}: {self.vendor_message}"]
        if self.request_id:
            parts.append(f"(request id {self.request_id})")
        if self.hint:
            parts.append(f"-> {self.hint}")
        return redact(" ".join(parts))

    def with_hint(self, hint: str) -> VendorError:
        """The same failure with different advice (hints are part of the message)."""
        return type(self)(
            self.vendor,
            self.vendor_message,
            endpoint=self.endpoint,
            status=self.status,
            request_id=self.request_id,
            hint=hint,
        )

    def __reduce__(self):  # picklable across Dagster's process boundary
        return (
            _rebuild,
            (
                type(self),
                self.vendor,
                self.vendor_message,
                self.endpoint,
                self.status,
                self.request_id,
                self.hint,
            ),
        )


def _rebuild(cls, vendor, message, endpoint, status, request_id, hint):  # type: ignore[no-untyped-def]
    return cls(vendor, message, endpoint=endpoint, status=status, request_id=request_id, hint=hint)


class AuthError(VendorError):
    """401/403 and the like: the key is missing, wrong or expired. Never retried."""

    kind = "authentication failed"


class QuotaExhausted(VendorError):
    """Credits or the daily quota are used up: stop cleanly, keep what landed."""

    kind = "quota exhausted"


class RateLimited(VendorError):
    """429: retried with backoff; raised only when retries are exhausted."""

    retryable = True
    kind = "rate limited"


class InvalidRequest(VendorError):
    """400/422: the request itself is wrong. Never retried."""

    kind = "invalid request"


class ServerError(VendorError):
    """5xx, timeouts and broken connections: retried, raised when retries run out."""

    retryable = True
    kind = "server error"


class MalformedResponse(VendorError):
    """The answer is not what the contract says: bad JSON, missing keys, wrong types."""

    kind = "malformed response"


class ConfigError(ValueError):
    """A setting or watchlist entry is invalid; raised before any request is made."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))
