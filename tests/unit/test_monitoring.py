"""Monitoring over a stream: TensorBoard event files read back with TensorBoard's own reader agree with a
direct computation from the traces; resume continues without double counting; memory stays bounded;
the real ``tensorboard`` server serves the scalars."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import deepseek_viz as dv
from deepseek_viz.analysis.monitoring import MonitorStats, Reservoir, Sums, balance
from deepseek_viz.export.tensorboard import HEAD_SCORE_BINS

TEXTS = [
    "Fever may indicate flu.",
    "Quarterly revenue rose 12%.",
    "你好，世界 🙂",
    "Chest pain can be a sign of a heart attack.",
    "",  # empty: seen, skipped
    "Revenue beat estimates.",
    "emoji and <b>HTML</b> & text",
]


@pytest.fixture(scope="module")
def model(tiny_checkpoints: dict[str, Path]) -> dv.HookedModel:
    return dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu")


def accumulator(logdir: Path) -> EventAccumulator:
    events = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0, "graph": 0})
    events.Reload()
    return events


def scalar(events: EventAccumulator, tag: str) -> dict[int, float]:
    return {event.step: event.value for event in events.Scalars(tag)}


def direct(model: dv.HookedModel, texts: list[str]) -> dict[str, object]:
    """The window's statistics computed straight from the traces (full logits, no running sums)."""
    counts = np.zeros((len(model.moe_layers), model.num_experts))
    heads, nlls, entropies = [], [], []
    for text in texts:
        if not text:
            continue
        trace = model.trace(text, layers=[], truncate=True, thumbnails=HEAD_SCORE_BINS)
        body = [not token.special for token in trace.tokens]
        for row, layer in enumerate(model.moe_layers):
            routing = trace.routing(layer)
            assert routing is not None
            for experts in routing.experts[body]:
                counts[row, experts] += 1
        assert trace.head_scores is not None
        heads.append(trace.head_scores)
        log_probs = torch.log_softmax(trace.logits, dim=-1)
        entropies.extend((-(log_probs.exp() * log_probs).sum(-1)).tolist())
        ids = [token.id for token in trace.tokens]
        nlls.extend(-log_probs[i, ids[i + 1]].item() for i in range(len(ids) - 1))
    load = counts / counts.sum(axis=1, keepdims=True)
    return {
        "load": load,
        "heads": np.mean(heads, axis=0),
        "loss": float(np.mean(nlls)),
        "entropy": float(np.mean(entropies)),
    }


@pytest.fixture(scope="module")
def run(model: dv.HookedModel, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dv.MonitorStats]:
    logdir = tmp_path_factory.mktemp("monitor") / "run"
    stats = dv.monitor(model, TEXTS, logdir=logdir, every=3, batch_size=2, progress=False, projector=4)
    return logdir, stats


def test_event_files_hold_what_the_traces_say(
    model: dv.HookedModel, run: tuple[Path, dv.MonitorStats]
) -> None:
    logdir, stats = run
    events = accumulator(logdir)
    assert stats.seen == len(TEXTS) and stats.skipped == 1
    assert list(stats.steps) == [3, 6, 7]  # every 3 texts, and the last, shorter window
    windows = [TEXTS[0:3], TEXTS[3:6], TEXTS[6:7]]
    for step, window in zip((3, 6, 7), windows, strict=True):
        expected = direct(model, window)
        load = expected["load"]
        assert isinstance(load, np.ndarray)
        for row, layer in enumerate(model.moe_layers):
            summary = balance(load)
            assert scalar(events, f"routing/L{layer}/max_over_mean")[step] == pytest.approx(
                summary["max_over_mean"][row], rel=1e-5
            )
            assert scalar(events, f"routing/L{layer}/cv")[step] == pytest.approx(summary["cv"][row], rel=1e-5)
            for expert in range(model.num_experts):  # 8 experts: per-expert scalars
                assert scalar(events, f"routing/L{layer}/expert_{expert}")[step] == pytest.approx(
                    load[row, expert], abs=1e-6
                )
            histogram = {
                event.step: event.histogram_value for event in events.Histograms(f"routing/L{layer}/load")
            }
            assert histogram[step].num == model.num_experts
            assert histogram[step].sum == pytest.approx(1.0, abs=1e-6)
            assert histogram[step].max == pytest.approx(load[row].max(), abs=1e-6)
        heads = expected["heads"]
        assert isinstance(heads, np.ndarray)
        entropy_column = dv.Trace.HEAD_SCORES.index("entropy")
        previous_column = dv.Trace.HEAD_SCORES.index("previous_token")
        assert scalar(events, "heads/L1/H2/entropy")[step] == pytest.approx(
            heads[1, 2, entropy_column], rel=1e-5
        )
        assert scalar(events, "heads/L0/previous_token_mean")[step] == pytest.approx(
            heads[0, :, previous_column].mean(), rel=1e-5
        )
        assert scalar(events, "predictions/loss")[step] == pytest.approx(expected["loss"], rel=1e-4)
        assert scalar(events, "predictions/entropy")[step] == pytest.approx(expected["entropy"], rel=1e-4)
    # the first window has nothing before it to drift from
    assert set(scalar(events, "heads/entropy/max_drift")) == {6, 7}
    assert set(scalar(events, "routing/L1/load_drift")) == {6, 7}
    assert scalar(events, "monitor/skipped") == {3: 0.0, 6: 1.0, 7: 1.0}
    # the returned stats and the state file say the same
    saved = dv.read_monitor(logdir)
    np.testing.assert_array_equal(saved.steps, stats.steps)
    np.testing.assert_allclose(saved.load_history, stats.load_history)
    np.testing.assert_allclose(stats.load_history[0], direct(model, windows[0])["load"])  # type: ignore[arg-type]
    read = dv.read_scalars(logdir)
    assert list(read["predictions/loss"][0]) == [3, 6, 7]


def test_projector_is_a_bounded_sample_with_the_texts(
    model: dv.HookedModel, run: tuple[Path, dv.MonitorStats]
) -> None:
    logdir, _ = run
    files = dv.read_projector(logdir)
    assert files.vectors.shape == (4, model.d_model)  # at most 4 points of the 6 non-empty texts
    assert set(files.metadata["text"]) <= set(TEXTS) - {""}
    for text, vector in zip(files.metadata["text"], files.vectors, strict=True):
        np.testing.assert_allclose(
            vector, dv.embed_texts(model, [text], progress=False)[0], rtol=1e-4, atol=1e-5
        )
        assert int(files.metadata["step"][files.metadata["text"].index(text)]) == TEXTS.index(text) + 1


def test_figures_draw_the_history(run: tuple[Path, dv.MonitorStats]) -> None:
    _, stats = run
    heatmap = dv.monitor_load_figure(stats, layer=1).data[0]
    assert np.asarray(heatmap.z).shape == (8, 3)
    np.testing.assert_allclose(np.asarray(heatmap.z), stats.load_history[:, 0, :].T)
    assert len(dv.monitor_load_figure(stats).data) == len(stats.moe_layers)
    drift = dv.monitor_head_figure(stats, "previous_token").data[0]
    assert np.asarray(drift.z).shape == (stats.num_layers * stats.num_heads, 3)
    assert [trace.name for trace in dv.monitor_loss_figure(stats).data] == [
        "next-token entropy",
        "loss (own next tokens)",
    ]
    with pytest.raises(ValueError, match="not a MoE layer"):
        dv.monitor_load_figure(stats, layer=0)


def test_continuation_loss(model: dv.HookedModel, tmp_path: Path) -> None:
    texts = ["Fever may indicate", "Revenue rose"]
    tail = " a sign of flu."
    dv.monitor(
        model, texts, logdir=tmp_path, every=2, progress=False, continuation=lambda text: tail, projector=0
    )
    events = accumulator(tmp_path)
    nlls = []
    for text in texts:
        trace = model.trace(text + tail, layers=[], truncate=True)
        log_probs = torch.log_softmax(trace.logits, dim=-1)
        for i in range(len(trace.tokens) - 1):
            if trace.tokens[i + 1].start >= len(text):
                nlls.append(-log_probs[i, trace.tokens[i + 1].id].item())
    assert nlls
    assert scalar(events, "predictions/continuation_loss")[2] == pytest.approx(np.mean(nlls), rel=1e-4)
    assert not (tmp_path / "projector_config.pbtxt").exists()


def test_resume_continues_the_steps_without_double_counting(model: dv.HookedModel, tmp_path: Path) -> None:
    texts = TEXTS[:4] + TEXTS[5:] + ["Sales fell.", "A fortune awaits."]  # 8 non-empty texts
    whole = dv.monitor(model, texts, logdir=tmp_path / "whole", every=2, progress=False, projector=3)

    def interrupted() -> Iterator[str]:
        yield from texts[:5]
        raise KeyboardInterrupt  # mid-window: texts 4 (after the step-4 state) are done again

    logdir = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        dv.monitor(model, interrupted(), logdir=logdir, every=2, progress=False, projector=3)
    assert dv.read_monitor(logdir).seen == 4
    resumed = dv.monitor(model, iter(texts), logdir=logdir, every=2, progress=False, projector=3)
    assert list(resumed.steps) == [2, 4, 6, 8] == list(whole.steps)
    assert resumed.overall.texts == whole.overall.texts == 8
    np.testing.assert_array_equal(resumed.total.expert_counts, whole.total.expert_counts)
    assert resumed.total.nll == pytest.approx(whole.total.nll)
    assert resumed.sample.texts == whole.sample.texts  # the same reservoir draws
    events = accumulator(logdir)
    steps = [event.step for event in events.Scalars("predictions/loss")]
    assert steps == [2, 4, 6, 8]  # each step once
    assert scalar(events, "predictions/loss") == pytest.approx(
        scalar(accumulator(tmp_path / "whole"), "predictions/loss")
    )
    # nothing more to see: a second resume writes no step
    again = dv.monitor(model, texts, logdir=logdir, every=2, progress=False, projector=3)
    assert list(again.steps) == [2, 4, 6, 8]
    # resume=False starts again at step 0; TensorBoard drops the old run's steps
    fresh = dv.monitor(model, texts[:2], logdir=logdir, every=2, progress=False, resume=False, projector=3)
    assert list(fresh.steps) == [2]
    assert [event.step for event in accumulator(logdir).Scalars("predictions/loss")] == [2]


def test_a_long_stream_runs_in_bounded_memory(model: dv.HookedModel, tmp_path: Path) -> None:
    def stream(count: int) -> Iterator[str]:
        for index in range(count):
            yield f"Text {index}: revenue rose."

    short = dv.monitor(
        model, stream(8), logdir=tmp_path / "short", every=1, progress=False, projector=3, history=4
    )
    stats = dv.monitor(
        model, stream(40), logdir=tmp_path / "long", every=1, progress=False, projector=3, history=4
    )
    assert stats.seen == 40 and len(stats.history) <= 4 and len(stats.sample) == 3
    assert stats.overall.texts == 40 == sum(row.texts for row in stats.history)  # merged rows keep every text
    one = stats.total.nbytes
    bound = (4 + 2) * one + stats.sample.vectors.nbytes + 3 * 600 + 8 * 4
    assert short.nbytes <= bound and stats.nbytes <= bound  # 4 texts or 24: the same bound, no list of traces


def test_sums_history_and_reservoir_are_bounded() -> None:
    stats = MonitorStats(
        model_name="m",
        moe_layers=(1,),
        num_layers=2,
        num_heads=2,
        num_experts=4,
        total=Sums.zeros(1, 4, 2, 2),
        window=Sums.zeros(1, 4, 2, 2),
        sample=Reservoir(5, 3),
        max_history=8,
    )
    sizes = []
    for step in range(1, 1001):
        one = Sums.zeros(1, 4, 2, 2)
        one.texts, one.tokens = 1, 2
        one.expert_counts[0, step % 4] = 2
        stats.add(one)
        stats.seen = step
        stats.close_window()
        slot = stats.sample.slot()
        if slot is not None:
            stats.sample.place(slot, step - 1, f"text {step:05d}", np.full(3, step, dtype=np.float32))
        sizes.append(stats.nbytes)
    assert len(stats.history) <= 8 and max(sizes) == max(sizes[:100])  # the size stops growing
    assert stats.total.texts == 1000 == sum(row.texts for row in stats.history)
    assert stats.steps[-1] == 1000 and list(stats.steps) == sorted(stats.steps)
    spans = np.diff([0, *stats.steps])
    assert len(set(spans[:-1])) == 1 and spans[-1] <= spans[0]  # every row covers as many windows
    np.testing.assert_allclose(stats.total.load, [[0.25, 0.25, 0.25, 0.25]])
    assert len(stats.sample) == 5 and len(set(stats.sample.indices)) == 5
    assert max(stats.sample.indices) > 5  # later texts replace earlier ones
    back = MonitorStats.from_arrays(stats.to_arrays())
    assert back.sample.texts == stats.sample.texts and back.sample.offered == 1000
    np.testing.assert_array_equal(back.load_history, stats.load_history)


def test_bad_arguments_are_clear_errors(
    model: dv.HookedModel, tmp_path: Path, tiny_checkpoints: dict[str, Path]
) -> None:
    with pytest.raises(ValueError, match="every"):
        dv.monitor(model, TEXTS, logdir=tmp_path, every=0, progress=False)
    with pytest.raises(TypeError, match="iterable of strings"):
        dv.monitor(model, "one text", logdir=tmp_path, progress=False)
    with pytest.raises(TypeError, match="not a str"):
        dv.monitor(model, ["fine", 3], logdir=tmp_path / "bad", progress=False)  # type: ignore[list-item]
    dv.monitor(model, TEXTS[:2], logdir=tmp_path / "v3", every=2, progress=False, projector=0)
    other = dv.load_model(tiny_checkpoints["deepseek_v2"], device="cpu")
    with pytest.raises(ValueError, match="resume=False"):
        dv.monitor(other, TEXTS[:2], logdir=tmp_path / "v3", progress=False)


def test_add_graph(model: dv.HookedModel, tmp_path: Path) -> None:
    with dv.TensorBoardLogger(tmp_path) as logger:
        logger.add_graph(model, "Fever may indicate flu.")
    graph = accumulator(tmp_path).Graph()
    names = [node.name for node in graph.node]
    assert any("o_proj" in name for name in names) and any("gate" in name for name in names)

    class Remote:  # a stand-in with no local module
        name, family = "remote", "deepseek_v3"

    with (
        dv.TensorBoardLogger(tmp_path / "remote") as logger,
        pytest.raises(RuntimeError, match="torch module"),
    ):
        logger.add_graph(Remote())  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_the_tensorboard_server_serves_a_scalar(run: tuple[Path, dv.MonitorStats], tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    shutil.copytree(run[0], logdir / "stream")  # one run, named "stream"
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("tensorboard")),
            "--logdir",
            str(logdir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--reload_interval",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    query = urllib.parse.urlencode({"run": "stream", "tag": "predictions/loss"})
    url = f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?{query}"
    try:
        served = None
        for _ in range(240):  # until the server is up and has loaded the run (no time asserted)
            if server.poll() is not None:
                pytest.fail(f"tensorboard exited: {server.stderr.read().decode() if server.stderr else ''}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    served = json.loads(response.read())
                if served:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        assert served, "tensorboard never served the scalar"
        expected = scalar(accumulator(run[0]), "predictions/loss")
        assert {int(step): value for _, step, value in served} == pytest.approx(expected)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
