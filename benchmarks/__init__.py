"""Benchmarks (run with `make bench`). Importing nsp first sets its quiet, offline defaults."""
import nsp  # noqa: F401
