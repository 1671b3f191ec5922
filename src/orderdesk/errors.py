"""The whole error catalogue. Raised anywhere; mapped to the Webflow envelope once, in api/."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    message: str


class AppError(Exception):
    status = 500
    code = "internal_error"
    message = "An Internal Error occurred"

    def __init__(self, message: str | None = None, details: list[FieldProblem] | None = None) -> None:
        self.message = message or type(self).message
        self.details = details or []
        super().__init__(self.message)

    def headers(self) -> dict[str, str]:
        """The headers that belong to this error's answer (Retry-After on a 429, Allow on a 405)."""
        return {}


class BadRequest(AppError):
    status, code, message = 400, "bad_request", "Bad Request: Request is malformed"


class ValidationFailed(AppError):
    status, code = 400, "validation_error"

    def __init__(self, details: list[FieldProblem]) -> None:
        summary = "; ".join(f"{d.field}: {d.message}" for d in details)
        super().__init__(f"Validation Error: {summary}", details)

    @classmethod
    def of(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldProblem(field, message)])


class OrderIdTaken(Exception):
    """The database's unique (site, orderId) constraint refused a new order: a placement racing ours won."""


class NotAuthorized(AppError):
    status, code, message = 401, "not_authorized", "Request not authorized"


class MissingScopes(AppError):
    status, code = 403, "missing_scopes"

    def __init__(self, scopes: list[str]) -> None:
        super().__init__(f"OAuthForbidden: You are missing the following scopes - {', '.join(scopes)}")


class SiteNotFound(AppError):
    status, code = 404, "resource_not_found"
    message = "Requested resource not found: The site cannot be found"


NO_ROUTE = "Requested resource not found: The route cannot be found"  # the framework's 404, in our words


class ResourceNotFound(AppError):
    status, code = 404, "resource_not_found"
    message = "Requested resource not found"


class FaultNotFound(ResourceNotFound):
    message = "Requested resource not found: The fault cannot be found"


class SnapshotNotFound(ResourceNotFound):
    message = "Requested resource not found: The snapshot cannot be found"


class OrderNotFound(AppError):
    status, code = 404, "order_not_found"
    message = "Requested resource not found: The order cannot be found"


class RefundNotFound(AppError):
    status, code = 404, "resource_not_found"
    message = "Requested resource not found: The refund cannot be found"


class WebhookNotFound(AppError):
    status, code = 404, "resource_not_found"
    message = "Requested resource not found: The webhook cannot be found"


class UnsupportedTrigger(AppError):
    """A trigger type Webflow has but orderdesk does not serve."""

    status, code = 400, "unsupported_webhook_trigger_type"


class IncompatibleFilter(AppError):
    status, code = 400, "incompatible_webhook_filter"
    message = "Bad Request: Order webhooks take no filter"


class MethodNotAllowed(AppError):
    status, code, message = 405, "bad_request", "Bad Request: Method not allowed"

    def __init__(self, allowed: list[str]) -> None:
        self.allowed = allowed
        super().__init__()

    def headers(self) -> dict[str, str]:
        return {"Allow": allow_header(self.allowed)}


def allow_header(methods) -> str:
    """Every method a path answers: HEAD wherever GET is, and OPTIONS everywhere."""
    methods = set(methods) | {"OPTIONS"}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


class EcommerceNotEnabled(AppError):
    status, code, message = 409, "ecommerce_not_enabled", "Ecommerce is not yet initialized"


class Conflict(AppError):
    status, code = 409, "conflict"


class PayloadTooLarge(AppError):
    status, code = 413, "bad_request"

    def __init__(self, limit_bytes: int) -> None:
        size = f"{limit_bytes // 1024**2} MiB" if limit_bytes % 1024**2 == 0 else f"{limit_bytes:,} bytes"
        super().__init__(f"Bad Request: Request body is larger than {size}")


class RequestTimeout(AppError):
    status, code, message = 408, "bad_request", "Bad Request: The request did not arrive in time"


class URLTooLong(AppError):
    status, code, message = 414, "bad_request", "Bad Request: The URL is longer than 64 KiB"


class HeadersTooLarge(AppError):
    status, code, message = 431, "bad_request", "Bad Request: Request headers are larger than 64 KiB"


class TooManyConnections(AppError):
    status, code = 503, "service_unavailable"
    message = "Service Unavailable: Too many open connections, try again shortly"


class TooManyRequests(AppError):
    status, code, message = 429, "too_many_requests", "Too Many Requests"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__()

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class IdempotencyKeyReused(AppError):
    """The same Idempotency-Key came with a different request (BEHAVIOUR.md section 7)."""

    status, code = 422, "bad_request"
    message = "Bad Request: This Idempotency-Key was already used with a different request"


class IdempotencyKeyInFlight(AppError):
    status, code = 409, "conflict"
    message = "Conflict: A request with this Idempotency-Key is still being processed"


class RefundDeclined(AppError):
    """The payment processor refused the refund; nothing was refunded."""

    status, code = 400, "bad_request"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Bad Request: The payment processor declined the refund ({reason})")


class InjectedFault(AppError):
    """A sandbox fault's answer (domain/faults.py): the error a real failure with that status gives."""

    _AS = {
        400: ("bad_request", "Bad Request: Request is malformed"),
        401: ("not_authorized", "Request not authorized"),
        403: ("missing_scopes", "OAuthForbidden: Access to this resource is forbidden"),
        404: ("resource_not_found", "Requested resource not found"),
        409: ("conflict", "Conflict: The request could not be completed, try again"),
        429: ("too_many_requests", "Too Many Requests"),
        500: ("internal_error", "An Internal Error occurred"),
        502: ("bad_gateway", "Bad Gateway"),
        503: ("service_unavailable", "Service Unavailable: try again shortly"),
        504: ("gateway_timeout", "Gateway Timeout"),
    }

    def __init__(self, status: int) -> None:
        self.status = status
        self.code, message = self._AS.get(status) or (("bad_request", "Bad Request") if status < 500
                                                      else ("internal_error", "An Internal Error occurred"))
        super().__init__(message)

    def headers(self) -> dict[str, str]:
        # A 429 says when to come back as a real one does; after a fault a request may pass at once.
        return {"Retry-After": "1"} if self.status == 429 else {}
