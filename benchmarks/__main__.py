"""Run the benchmarks: ``python -m benchmarks [--only attention|embeddings|dashboard|scale|generation|interventions|service] [options of that one]``.

Without ``--only`` all run with their defaults; a benchmark's own options (``--help`` lists them, e.g.
``python -m benchmarks --only attention --sizes 128 512``) need ``--only``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = ("attention", "embeddings", "dashboard", "scale", "generation", "interventions", "service")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmark (or all) and return the first non-zero exit status, else 0."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__, add_help=False)
    parser.add_argument("--only", choices=BENCHMARKS)
    args, rest = parser.parse_known_args(argv)
    if args.only is None and rest in (["-h"], ["--help"]):
        parser.print_help()
        return 0
    if args.only is None and rest:
        parser.error(f"options {' '.join(rest)} need --only {{{','.join(BENCHMARKS)}}}")
    for name in BENCHMARKS if args.only is None else (args.only,):
        status: int = importlib.import_module(f"benchmarks.{name}").main(rest)
        if status:
            return status
    return 0


sys.exit(main())
