"""`python -m bench`: every benchmark, one after another."""

from bench import refunds

refunds.main()
