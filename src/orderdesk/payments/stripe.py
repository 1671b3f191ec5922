"""Refunds through Stripe (BEHAVIOUR.md section 8); Stripe's vocabulary stops at this module's edge."""

from __future__ import annotations

from collections.abc import Callable

import requests
import stripe

from orderdesk.payments.vocabulary import REASON_WORDS
from orderdesk.domain.refunds import RefundState
from orderdesk.services.ports import ProcessorUnavailable, RefundOutcome, RefundRequest

# The library's first request would otherwise write an id file into the server user's home
# directory and report the host's platform to Stripe; a self-hosted server should do neither.
stripe.enable_telemetry = False


STATES = {
    "pending": RefundState.PENDING,
    "requires_action": RefundState.PENDING_INFORMATION,  # the customer must give bank details
    "succeeded": RefundState.SUCCEEDED,
    "failed": RefundState.FAILED,
    "canceled": RefundState.FAILED,
}

UNSETTLED = {RefundState.PENDING, RefundState.PENDING_INFORMATION}


class StripeProcessor:
    """Refunds a site's Stripe payments; our refund id is Stripe's idempotency key, so a retry refunds once."""

    name = "stripe"

    def __init__(self, secret_key: str, api_base: str | None = None, timeout: float = 10.0) -> None:
        self.client = stripe.StripeClient(
            secret_key,
            # An {"api": None} entry would replace Stripe's default address rather than keep it.
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            # The reconciler retries with the same idempotency key; the library's own retries would
            # sleep inside a request handler and hide from us that the outcome was unknown.
            max_network_retries=0,
            http_client=OneConnectionPerRequest(timeout),
        )

    def refund(self, request: RefundRequest) -> RefundOutcome:
        """Ask Stripe to refund the order's payment intent, or its charge when it has no intent."""
        payment = request.payment
        if payment.payment_intent_id:
            params: dict = {"payment_intent": payment.payment_intent_id}
        elif payment.charge_id:
            params = {"charge": payment.charge_id}
        else:
            return RefundOutcome(RefundState.FAILED, failure_reason="payment_missing")
        params["amount"] = request.amount
        if request.reason in REASON_WORDS:
            params["reason"] = REASON_WORDS[request.reason]
        params["metadata"] = {
            "orderdesk_refund_id": request.refund_id,
            "orderdesk_order_id": request.order_id,
            "orderdesk_site_id": request.site_id,
        }
        if request.reason is not None and request.reason not in REASON_WORDS:
            # The Refunds resource takes any reason; Stripe takes three words, so ours rides along.
            params["metadata"]["orderdesk_reason"] = request.reason
        options: stripe.RequestOptions = {"idempotency_key": request.refund_id}
        return self._answer(lambda: self.client.v1.refunds.create(params=params, options=options))

    def refresh(self, request: RefundRequest, reference: str | None) -> RefundOutcome:
        """The refund's state now: fetched by Stripe's id, or asked for again under the same key."""
        if reference is None:
            outcome = self.refund(request)
            if outcome.state not in UNSETTLED or outcome.processor_reference is None:
                return outcome
            # Stripe replays the answer it saved when the key was first used, which may be stale.
            reference = outcome.processor_reference
        return self._answer(lambda: self.client.v1.refunds.retrieve(reference))

    def _answer(self, call: Callable[[], stripe.Refund]) -> RefundOutcome:
        try:
            refund = call()
        except (stripe.CardError, stripe.InvalidRequestError) as error:
            # A definite refusal (charge_already_refunded, amount_too_large, resource_missing...):
            # Stripe refunded nothing and will answer the same again.
            return RefundOutcome(RefundState.FAILED, failure_reason=error.code or "invalid_request")
        except stripe.StripeError as error:
            # Unreachable, timed out, 5xx, rate limited, our key still in flight (409) or reused with
            # other parameters: the refund may exist, so it stays pending for the reconciler. A
            # refused secret key (401/403) lands here too: the site's owner fixes the key, and the
            # refund must not fail meanwhile, since an earlier call with a good key may have made it.
            raise ProcessorUnavailable(f"Stripe did not answer: {type(error).__name__}: {error}") from error
        return outcome_of(refund.to_dict())


def outcome_of(refund: dict) -> RefundOutcome:
    """Our outcome for a Stripe refund object, from an API answer or a webhook event alike."""
    status = refund["status"]
    failure_reason = None
    if status == "failed":
        failure_reason = refund.get("failure_reason") or "unknown"
    elif status == "canceled":
        failure_reason = "canceled"
    expires_at = ((refund.get("next_action") or {}).get("display_details") or {}).get("expires_at")
    return RefundOutcome(
        # A status newer than this code is not final as far as we know: the reconciler asks again.
        STATES.get(status, RefundState.PENDING),
        refund["id"],
        refund.get("reason"),
        failure_reason,
        expires_at * 1000 if expires_at is not None else None,
    )


class OneConnectionPerRequest(stripe.HTTPClient):
    """The library's HTTP seam: our timeout, and a connection closed after every request.

    A processor is built per refund and never closed, so a kept-alive connection would leak its socket.
    """

    name = "requests"

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, headers, post_data=None, **_):
        try:
            response = requests.request(
                method, url, headers=headers, data=post_data, timeout=self.timeout, verify=stripe.ca_bundle_path,
            )
        except requests.RequestException as error:
            raise stripe.APIConnectionError(f"{type(error).__name__}: {error}") from error
        return response.content, response.status_code, response.headers

    def close(self) -> None:
        """Nothing stays open between requests."""
