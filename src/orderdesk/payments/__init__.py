"""Adapters for the payment-processor port."""
