"""Run the benchmarks: ``python -m benchmarks [--only attention|embeddings] [options of that one]``.

Without ``--only`` both run with their defaults; a benchmark's own options (``--help`` lists them, e.g.
``python -m benchmarks --only attention --sizes 128 512``) need ``--only``.
"""

from __future__ import annotations

import argparse
import sys

BENCHMARKS = ("attention", "embeddings")


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
    if args.only == "attention" or args.only is None:
        from .attention import main as attention

        status = attention(rest)
        if status or args.only:
            return status
    from .embeddings import main as embeddings

    return embeddings(rest)


sys.exit(main())
