"""Stripe's words for our refund reasons; the simulated processor speaks like Stripe too."""

REASON_WORDS = {"requested": "requested_by_customer", "duplicate": "duplicate", "fraudulent": "fraudulent"}
