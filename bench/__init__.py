"""rt's benchmark instruments: load generator, echo fakes, gateway sampling, reports.

Run ``python bench/run.py --help``; see bench/README.md.
"""
