"""The ``deepseek-viz`` command line: ``deepseek-viz app [MODEL]`` serves the dashboard with Voila."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .main_view import MODEL_ENV, AppLimits

APP_NOTEBOOK = Path(__file__).with_name("dashboard.ipynb")
#: Kernels of visitors who left (or idle this long) are shut down, so their memory comes back.
IDLE_KERNEL_SECONDS = 600


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepseek-viz", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    app = commands.add_parser("app", help="serve the dashboard as a Voila app")
    app.add_argument(
        "model", nargs="?", default=None, help="hub name or local folder (default: bundled model)"
    )
    app.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    app.add_argument("--port", type=int, default=8866)
    defaults = AppLimits()
    limits = app.add_argument_group("per-visitor limits")
    limits.add_argument("--max-chars", type=int, default=defaults.max_chars, help="longest text accepted")
    limits.add_argument("--max-tokens", type=int, default=defaults.max_tokens, help="most tokens traced")
    limits.add_argument(
        "--timeout", type=float, default=defaults.max_seconds, help="seconds of model work per request"
    )
    limits.add_argument(
        "--max-samples",
        type=int,
        default=defaults.max_samples,
        help="SHAP evaluations / LIME samples per run",
    )
    limits.add_argument(
        "--max-new-tokens",
        type=int,
        default=defaults.max_new_tokens,
        help="most tokens one generation writes",
    )
    return parser


def voila_command(notebook: Path, host: str, port: int) -> list[str]:
    """The Voila invocation that serves ``notebook`` on ``host:port`` without opening a browser."""
    voila = shutil.which("voila", path=str(Path(sys.executable).parent)) or "voila"
    return [
        voila,
        str(notebook),
        "--no-browser",
        f"--Voila.ip={host}",
        f"--port={port}",
        "--show_tracebacks=False",
        "--theme=light",
        f"--MappingKernelManager.cull_idle_timeout={IDLE_KERNEL_SECONDS}",
        "--MappingKernelManager.cull_interval=60",
    ]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``deepseek-viz`` command."""
    args = _parser().parse_args(argv)
    limits = AppLimits(args.max_chars, args.max_tokens, args.timeout, args.max_samples, args.max_new_tokens)
    env = {**os.environ, **limits.to_env()}
    if args.model:
        env[MODEL_ENV] = args.model
    with tempfile.TemporaryDirectory(prefix="deepseek-viz-app-") as folder:
        notebook = Path(folder) / "deepseek-viz.ipynb"
        shutil.copyfile(APP_NOTEBOOK, notebook)
        print(
            f"deepseek-viz: serving the dashboard at http://{args.host}:{args.port}/ (Ctrl-C stops)",
            flush=True,
        )
        try:
            return subprocess.call(voila_command(notebook, args.host, args.port), env=env, cwd=folder)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
