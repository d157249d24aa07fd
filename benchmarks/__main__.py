"""Run the benchmarks: ``python -m benchmarks [--sizes 128 512 2048 4096]``."""

import sys

from .attention import main

sys.exit(main())
