"""Webhooks out: signing as Webflow signs, and the delivery worker."""
