"""The ``deepseek-viz`` command line and the app's heading line: plain-text help, the Voila invocation
(the app's template, no forced theme), the Makefile passing MODEL through, and :func:`model_info`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepseek_viz.app import cli
from deepseek_viz.app.header import format_count, model_info
from deepseek_viz.model import load_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv", [["--help"], ["app", "--help"]])
def test_help_is_plain_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 0
    text = capsys.readouterr().out
    assert "deepseek-viz app" in text and "`" not in text
    if argv[0] == "app":
        assert "MODEL" in text and "?theme=dark" in text and "--max-chars" in text


def test_voila_runs_the_app_template_and_follows_the_theme_asked() -> None:
    command = cli.voila_command(Path("/tmp/app.ipynb"), "127.0.0.1", 9999, "org/some-model")
    assert "--template=deepseek-viz" in command and "--show_tracebacks=False" in command
    assert not any(option.startswith("--theme") for option in command)  # ?theme=dark works
    assert '--VoilaConfiguration.resources={"deepseek_viz_model": "org/some-model"}' in command
    template = cli.JUPYTER_DATA / "voila" / "templates" / cli.TEMPLATE
    assert (template / "conf.json").is_file() and (template / "index.html.j2").is_file()
    env = cli.voila_env({"JUPYTER_PATH": "/elsewhere"})
    assert env["JUPYTER_PATH"].split(os.pathsep) == [str(cli.JUPYTER_DATA), "/elsewhere"]


def test_make_demo_passes_the_model_through() -> None:
    def dry_run(*variables: str) -> str:
        result = subprocess.run(
            ["make", "-n", "demo", *variables],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return next(line for line in result.stdout.splitlines() if "deepseek-viz app" in line)

    assert 'deepseek-viz app "/models/my model" --host' in dry_run("MODEL=/models/my model")
    assert "deepseek-viz app  --host" in dry_run()


def test_sigterm_while_voila_runs_stops_it_and_what_it_started(tmp_path: Path) -> None:
    """:func:`cli.stop_voila` on a stand-in for Voila that ignores SIGTERM and has a child of its own in
    another session (as kernels are): nothing is left running."""
    script = tmp_path / "fake_voila.py"
    script.write_text(
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
        " start_new_session=True)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, start_new_session=True)
    assert process.stdout is not None
    child = int(process.stdout.readline())
    cli.stop_voila(process, timeout=1)
    assert process.poll() == -signal.SIGKILL
    for _ in range(50):  # reaped by init once its parent is gone: wait until it is
        if not _running(child):
            break
        time.sleep(0.1)
    assert not _running(child)


def _running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_format_count() -> None:
    assert [format_count(n) for n in (7, 1234, 1_250_000, 671_000_000_000)] == ["7", "1.23K", "1.25M", "671B"]


def test_model_info_reads_the_model_interface(tiny_checkpoints: dict[str, Path]) -> None:
    model = load_model(tiny_checkpoints["deepseek_v3"], device="cpu")
    info = model_info(model)
    assert info.startswith(f"deepseek_v3 · {model.num_layers} layers × {model.num_heads} heads · MoE: ")
    assert f"{model.num_experts} experts (top-{model.experts_per_token}" in info
    assert info.endswith(" parameters · cpu")
