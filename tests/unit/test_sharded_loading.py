"""Loading larger than one device: accelerate's device maps (tested on the CPU with disk offload), and
the quantized formats that need a GPU refused clearly where there is none."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM

import deepseek_viz as dv

TEXT = "Fever may indicate flu. 你好 🙂"
pytest.importorskip("accelerate")


def _device_map(offloaded: tuple[int, ...]) -> dict[str, str]:
    """Every module on the CPU except the decoder layers in ``offloaded``, which go to disk."""
    layers = {f"model.layers.{layer}": "disk" if layer in offloaded else "cpu" for layer in range(3)}
    return {
        "model.embed_tokens": "cpu",
        **layers,
        "model.norm": "cpu",
        "model.rotary_emb": "cpu",
        "lm_head": "cpu",
    }


@pytest.mark.parametrize("family", ["deepseek_v3", "llama"])
def test_a_device_map_with_disk_offload_traces_like_the_whole_model(
    family: str, tiny_checkpoints: dict[str, Path], tmp_path: Path
) -> None:
    whole = dv.load_model(tiny_checkpoints[family], device="cpu")
    device_map = _device_map(offloaded=(1, 2))
    sharded = dv.load_model(tiny_checkpoints[family], device_map=device_map, offload_folder=tmp_path)
    assert sharded.model.hf_device_map == device_map and sharded.device == torch.device("cpu")
    ours, theirs = sharded.trace(TEXT, thumbnails=4), whole.trace(TEXT, thumbnails=4)
    for layer in range(3):
        np.testing.assert_allclose(ours.attention(layer), theirs.attention(layer), atol=1e-6)
        routing = ours.routing(layer)
        if routing is not None:
            np.testing.assert_array_equal(routing.experts, theirs.routing(layer).experts)  # type: ignore[union-attr]
    for read in ("hidden_states", "thumbnails", "head_scores"):
        np.testing.assert_allclose(getattr(ours, read), getattr(theirs, read), atol=1e-6)
    np.testing.assert_allclose(ours.logit_lens(2).probs, theirs.logit_lens(2).probs, atol=1e-6)
    # a layer read later runs alone through accelerate's hooks, an offloaded one too
    lean = sharded.trace(TEXT + " ", layers=[])
    np.testing.assert_allclose(lean.attention(2), whole.trace(TEXT + " ").attention(2), atol=1e-6)
    ids = [token.id for token in lean.tokens]
    np.testing.assert_allclose(sharded.hidden_states([ids], 2)[0], lean.hidden_states[2], atol=1e-6)
    # nothing moved the model: the offloaded layers' weights are still only on disk
    offloaded = [p for name, p in sharded.model.named_parameters() if name.startswith("model.layers.1.")]
    assert offloaded and all(p.device.type == "meta" for p in offloaded)


def test_device_map_auto_follows_max_memory(tiny_checkpoints: dict[str, Path], tmp_path: Path) -> None:
    model = dv.load_model(
        tiny_checkpoints["deepseek_v3"],
        device_map="auto",
        max_memory={"cpu": 100_000},
        offload_folder=tmp_path,
    )
    assert "disk" in model.model.hf_device_map.values(), "100 kB of CPU memory cannot hold the whole model"
    reference = dv.load_model(tiny_checkpoints["deepseek_v3"], device="cpu").trace(TEXT)
    np.testing.assert_allclose(model.trace(TEXT).hidden_states, reference.hidden_states, atol=1e-6)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("bits", ["load_in_4bit", "load_in_8bit"])
def test_bitsandbytes_without_a_gpu_is_refused_before_loading(
    bits: str, tiny_checkpoints: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("from_pretrained must not run")

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", never)
    with pytest.raises(
        dv.DeviceUnavailableError, match=f"{bits} quantizes with bitsandbytes, which needs a CUDA GPU"
    ):
        dv.load_model(tiny_checkpoints["llama"], **{bits: True})
    with pytest.raises(ValueError, match="exclude each other"):
        dv.load_model(tiny_checkpoints["llama"], load_in_4bit=True, load_in_8bit=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_an_fp8_checkpoint_without_a_gpu_is_refused_before_loading(
    tiny_checkpoints: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "fp8"
    shutil.copytree(tiny_checkpoints["deepseek_v3"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["quantization_config"] = {  # as DeepSeek-V3's own checkpoint declares it
        "activation_scheme": "dynamic",
        "fmt": "e4m3",
        "quant_method": "fp8",
        "weight_block_size": [128, 128],
    }
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(dv.DeviceUnavailableError, match=r"an FP8 checkpoint.*dequantize=True"):
        dv.load_model(folder)
