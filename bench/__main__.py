"""``python -m bench``: the benchmark harness (see :mod:`bench.harness`)."""

from .harness import main

main()
