"""`python -m bench`: every endpoint against the baseline (see bench/run.py; `--help` for options)."""

from bench import refunds, run

run.main()
refunds.main()
