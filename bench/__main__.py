"""``python -m bench SECTION [SECTION ...] [options]``: the one entry point of the benchmarks
(``python -m bench --help`` lists the sections; :mod:`bench.cli` does the work)."""
import os

from bench.common import ENVIRONMENT

# Before torch is imported (see bench.common.ENVIRONMENT); a value already set wins.
for _name, _value in ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)

from bench.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
