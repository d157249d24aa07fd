"""The ``deepseek-viz`` command line: ``deepseek-viz app [MODEL]`` serves the app (a heading, help and
export buttons above the dashboard, :mod:`.header`) with Voila; ``deepseek-viz serve [MODEL]`` runs the
model service (:mod:`deepseek_viz.serve.service`, Ray Serve) for many users' kernels.

Voila runs in a process group of its own with the app's template (``jupyter/voila/templates/deepseek-viz``:
no CDN stylesheet, a "loading the model" page until the notebook has run). Ctrl-C, SIGTERM and SIGHUP
all stop it the same way (:func:`stop_voila`): Voila is asked to stop (it shuts its kernels down), then
whatever it started that is still running is ended, and the temporary folder is removed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

from ..serve.calls import ServiceLimits
from ..serve.security import TOKEN_ENV, InsecureBindingError, check_binding, resolve_token
from .main_view import MODEL_ENV, SERVER_ENV, AppLimits

APP_NOTEBOOK = Path(__file__).with_name("dashboard.ipynb")
#: A Jupyter data folder (for ``JUPYTER_PATH``) holding the app's Voila template.
JUPYTER_DATA = Path(__file__).with_name("jupyter")
TEMPLATE = "deepseek-viz"
#: Kernels of visitors who left (or idle this long) are shut down, so their memory comes back.
IDLE_KERNEL_SECONDS = 600
#: Seconds Voila gets to shut its kernels down before what is left is ended.
STOP_SECONDS = 15.0
#: The signals that stop the app (Ctrl-C is SIGINT).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

DESCRIPTION = (
    "deepseek-viz: look inside DeepSeek models. 'deepseek-viz app [MODEL]' serves the dashboard; "
    "'deepseek-viz serve [MODEL]' serves the model to many users' notebooks and apps."
)
APP_DESCRIPTION = (
    "Serve the dashboard as a Voila app on HOST:PORT: one kernel per visitor, each within the limits "
    "below. MODEL is a Hugging Face hub name or a local checkpoint folder (default: the bundled model). "
    "Open the page with ?theme=dark for the dark theme. Ctrl-C or SIGTERM stops the app and its kernels. "
    "With --server URL the visitors' kernels hold no model: each is a client of that model service "
    "('deepseek-viz serve'; its token from $DEEPSEEK_VIZ_TOKEN)."
)

SERVE_DESCRIPTION = (
    "Serve MODEL (a hub name or a local checkpoint folder; default the bundled model) to many clients "
    "(deepseek_viz.connect(URL, token=...)) with Ray Serve: a local Ray instance, or the cluster at "
    "--address. Each request is held to the limits below. Listening beyond this machine needs a token "
    f"(--token or {TOKEN_ENV}); clients send it as 'Authorization: Bearer TOKEN'. "
    "Ctrl-C or SIGTERM stops the service and Ray."
)


class Stopped(Exception):
    """A stop signal arrived (raised by the handler :func:`stop_signals` installs)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepseek-viz", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    app = commands.add_parser("app", help="serve the dashboard as a Voila app", description=APP_DESCRIPTION)
    app.add_argument(
        "model", nargs="?", default=None, help="hub name or local folder (default: bundled model)"
    )
    app.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    app.add_argument("--port", type=int, default=8866, help="port to listen on (default 8866)")
    app.add_argument(
        "--server", default=None, help="URL of a model service the kernels use instead of loading MODEL"
    )
    _limit_arguments(
        app.add_argument_group("per-visitor limits"), AppLimits(), "SHAP evaluations / LIME samples per run"
    )
    _serve_parser(commands)
    return parser


def _limit_arguments(
    group: argparse._ArgumentGroup, defaults: AppLimits | ServiceLimits, samples: str
) -> None:
    """The bounds the app and the service share (``--max-chars`` … ``--max-new-tokens``), with the
    defaults of ``defaults``; ``samples`` says what ``--max-samples`` counts."""
    group.add_argument("--max-chars", type=int, default=defaults.max_chars, help="longest text accepted")
    group.add_argument("--max-tokens", type=int, default=defaults.max_tokens, help="most tokens traced")
    group.add_argument(
        "--timeout", type=float, default=defaults.max_seconds, help="seconds of model work per request"
    )
    group.add_argument("--max-samples", type=int, default=defaults.max_samples, help=samples)
    group.add_argument(
        "--max-new-tokens",
        type=int,
        default=defaults.max_new_tokens,
        help="most tokens one generation writes",
    )


def _serve_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="serve the model to many clients (Ray Serve)", description=SERVE_DESCRIPTION
    )
    serve.add_argument(
        "model", nargs="?", default=None, help="hub name or local folder (default: bundled model)"
    )
    serve.add_argument(
        "--address", default=None, help="join the Ray cluster at this address (default: start one)"
    )
    serve.add_argument("--replicas", type=int, default=1, help="copies of the model (default 1)")
    serve.add_argument(
        "--gpus-per-replica",
        type=float,
        default=0,
        help="GPUs each replica holds (default 0: the CPU); more than 1 shards the model over them",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--token", default=None, help=f"the bearer token clients send (default: ${TOKEN_ENV})")
    serve.add_argument("--redis", default=None, help="a Redis URL for a cache shared by the replicas")
    serve.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="port of the local Ray's Prometheus endpoint, /metrics (default: one Ray picks)",
    )
    defaults = ServiceLimits()
    limits = serve.add_argument_group("per-request limits")
    _limit_arguments(limits, defaults, "rows of one scoring batch / sequences of one embedding call")
    limits.add_argument(
        "--max-request-bytes",
        type=int,
        default=defaults.max_request_bytes,
        help="largest request body accepted",
    )


def voila_command(notebook: Path, host: str, port: int, model: str | None = None) -> list[str]:
    """The Voila invocation that serves ``notebook`` on ``host:port`` without opening a browser, with
    the app's template (its loading page names ``model``: default the bundled model); the theme is
    light unless the page's address asks for ``?theme=dark``."""
    voila = shutil.which("voila", path=str(Path(sys.executable).parent)) or "voila"
    resources = {"deepseek_viz_model": model or "the bundled model"}
    return [
        voila,
        str(notebook),
        "--no-browser",
        f"--Voila.ip={host}",
        f"--port={port}",
        "--Voila.port_retries=0",
        "--show_tracebacks=False",
        f"--template={TEMPLATE}",
        f"--VoilaConfiguration.resources={json.dumps(resources)}",
        f"--MappingKernelManager.cull_idle_timeout={IDLE_KERNEL_SECONDS}",
        "--MappingKernelManager.cull_interval=60",
    ]


def voila_env(base: dict[str, str]) -> dict[str, str]:
    """``base`` with :data:`JUPYTER_DATA` first on ``JUPYTER_PATH`` (where Voila finds the template)."""
    paths = [str(JUPYTER_DATA), *filter(None, base.get("JUPYTER_PATH", "").split(os.pathsep))]
    return {**base, "JUPYTER_PATH": os.pathsep.join(paths)}


@contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, each of :data:`STOP_SIGNALS` raises :class:`Stopped` (the previous handlers
    come back after it)."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Stopped(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def stop_voila(process: subprocess.Popen[bytes], timeout: float = STOP_SECONDS) -> None:
    """Stop Voila as Ctrl-C does: SIGTERM (it shuts its kernels down), ``timeout`` seconds to exit
    (then SIGKILL); then every process it had started (kernels, and what they started) that is still
    running is terminated, and killed after a few seconds more."""
    import psutil

    try:
        started = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        started = []
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    left = [child for child in started if child.is_running()]
    for child in left:
        with suppress(psutil.NoSuchProcess):
            child.terminate()
    _, alive = psutil.wait_procs(left, timeout=5)
    for child in alive:
        with suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs(alive, timeout=5)


def serve_main(args: argparse.Namespace) -> int:
    """``deepseek-viz serve``: run the model service until Ctrl-C or SIGTERM, then shut Serve and Ray
    down. A non-loopback ``--host`` without a token is refused before anything starts."""
    token = resolve_token(args.token)
    try:
        check_binding(args.host, token)
    except InsecureBindingError as error:
        print(f"deepseek-viz serve: {error}", file=sys.stderr)
        return 2
    # Ray is an optional dependency (the `serve` extra): imported only when serving
    from ..serve.service import run_service

    limits = ServiceLimits(
        max_chars=args.max_chars,
        max_tokens=args.max_tokens,
        max_seconds=args.timeout,
        max_samples=args.max_samples,
        max_new_tokens=args.max_new_tokens,
        max_request_bytes=args.max_request_bytes,
    )
    print(f"deepseek-viz: serving the model at http://{args.host}:{args.port}/ (Ctrl-C stops)", flush=True)
    with stop_signals(), suppress(Stopped, KeyboardInterrupt):
        run_service(
            args.model,
            host=args.host,
            port=args.port,
            replicas=args.replicas,
            gpus_per_replica=args.gpus_per_replica,
            address=args.address,
            token=token,
            redis=args.redis,
            limits=limits,
            metrics_port=args.metrics_port,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``deepseek-viz`` command."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve_main(args)
    limits = AppLimits(args.max_chars, args.max_tokens, args.timeout, args.max_samples, args.max_new_tokens)
    env = voila_env({**os.environ, **limits.to_env()})
    if args.model and args.server:
        print(
            "deepseek-viz app: give MODEL or --server, not both (the service names its model)",
            file=sys.stderr,
        )
        return 2
    if args.model:
        env[MODEL_ENV] = args.model
    if args.server:
        env[SERVER_ENV] = args.server
    with stop_signals(), tempfile.TemporaryDirectory(prefix="deepseek-viz-app-") as folder:
        notebook = Path(folder) / "deepseek-viz.ipynb"
        shutil.copyfile(APP_NOTEBOOK, notebook)
        print(
            f"deepseek-viz: serving the dashboard at http://{args.host}:{args.port}/ (Ctrl-C stops)",
            flush=True,
        )
        command = voila_command(notebook, args.host, args.port, args.model or args.server)
        # a session of its own: a stop signal reaches this process only, which stops Voila in order
        process = subprocess.Popen(command, env=env, cwd=folder, start_new_session=True)
        try:
            return process.wait()
        except (Stopped, KeyboardInterrupt):
            with _ignoring_stop_signals():
                stop_voila(process)
            return 0


@contextmanager
def _ignoring_stop_signals() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM while stopping does not cut the clean-up short."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


if __name__ == "__main__":
    sys.exit(main())
