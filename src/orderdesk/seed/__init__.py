"""Seeded orders: realistic Webflow documents, made in worker processes and bulk-loaded (store/bulk.py)."""
