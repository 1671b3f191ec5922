"""orderdesk: the Webflow Orders API, persistent, with refunds and the tools to test against it."""

__version__ = "0.1.0"
