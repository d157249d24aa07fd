"""Loading damaged, missing and remote-code checkpoints: a :class:`ModelLoadError` that names the path
and what is wrong, never a traceback from deep inside transformers, and no checkpoint code run
unless ``trust_remote_code=True``."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from transformers import dynamic_module_utils

import deepseek_viz as dv


@pytest.fixture
def copy_checkpoint(tiny_checkpoints: dict[str, Path], tmp_path: Path) -> Callable[[], Path]:
    """``copy_checkpoint()``: a fresh copy of the tiny DeepSeek-V3 checkpoint to damage."""

    def copy() -> Path:
        return Path(shutil.copytree(tiny_checkpoints["deepseek_v3"], tmp_path / "checkpoint"))

    return copy


def edit_config(folder: Path, **changes: object) -> None:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **changes}))


def truncate(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "weights cut in half": (
        lambda f: truncate(f / "model.safetensors", 0.5),
        r"model\.safetensors is truncated or not a safetensors file \(.*incomplete metadata",
    ),
    "weights cut inside the header": (
        lambda f: truncate(f / "model.safetensors", 0.001),
        r"model\.safetensors is truncated or not a safetensors file",
    ),
    "weights replaced by garbage": (
        lambda f: (f / "model.safetensors").write_bytes(b"\x89garbage" * 64),
        r"model\.safetensors is truncated or not a safetensors file \(.*header",
    ),
    "empty weights file": (
        lambda f: (f / "model.safetensors").write_bytes(b""),
        r"model\.safetensors is truncated or not a safetensors file",
    ),
    "no weights": (
        lambda f: (f / "model.safetensors").unlink(),
        r"could not load the model of '.*checkpoint': OSError: .*no file named model\.safetensors",
    ),
    "config.json not JSON": (
        lambda f: (f / "config.json").write_text('{"model_type": "deepseek_v3",'),
        r"config\.json is not valid JSON \(Expecting",
    ),
    "config.json a list": (
        lambda f: (f / "config.json").write_text("[1, 2, 3]"),
        r"config\.json holds a JSON list, not an object of model settings",
    ),
    "config.json without model_type": (
        lambda f: (f / "config.json").write_text(json.dumps({"hidden_size": 32})),
        r"could not load the model of '.*checkpoint': ValueError: .*model_type",
    ),
    "config.json with shapes the weights do not have": (
        lambda f: edit_config(f, hidden_size=64),
        r"could not load the model of '.*checkpoint': RuntimeError: .*mismatched",
    ),
    "tokenizer.json not JSON": (
        lambda f: (f / "tokenizer.json").write_text("{oops"),
        r"could not load the tokenizer of '.*checkpoint': JSONDecodeError",
    ),
    "tokenizer.json of the wrong shape": (
        lambda f: (f / "tokenizer.json").write_text(json.dumps({"model": 5})),
        r"could not load the tokenizer of '.*checkpoint': ",
    ),
}


@pytest.mark.parametrize("case", DAMAGE)
def test_damaged_checkpoint_is_a_clear_load_error(copy_checkpoint: Callable[[], Path], case: str) -> None:
    folder = copy_checkpoint()
    damage, message = DAMAGE[case]
    damage(folder)
    with pytest.raises(dv.ModelLoadError, match=message) as raised:
        dv.load_model(folder, device="cpu")
    assert str(folder) in str(raised.value)


def test_missing_checkpoint_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(
        dv.ModelLoadError, match=f"no model at {tmp_path / 'nothing'}: the folder does not exist"
    ):
        dv.load_model(tmp_path / "nothing", device="cpu")
    with pytest.raises(dv.ModelLoadError, match=f"no model at {tmp_path}: .*has no config.json"):
        dv.load_model(tmp_path, device="cpu")


REMOTE_CODE = """
from pathlib import Path

Path({marker!r}).write_text("the checkpoint's code ran")

from transformers import PretrainedConfig, PreTrainedModel


class MarkerConfig(PretrainedConfig):
    model_type = "marker_model"


class MarkerModel(PreTrainedModel):
    config_class = MarkerConfig
"""


def with_remote_code(folder: Path, marker: Path, model_type: str) -> None:
    """Give the checkpoint a ``modeling_marker.py`` that writes ``marker`` when imported, wired in by
    ``auto_map`` for the config, the tokenizer and the model."""
    (folder / "modeling_marker.py").write_text(REMOTE_CODE.format(marker=str(marker)))
    auto_map = {
        "AutoConfig": "modeling_marker.MarkerConfig",
        "AutoModelForCausalLM": "modeling_marker.MarkerModel",
    }
    edit_config(folder, model_type=model_type, auto_map=auto_map)


def test_remote_code_is_refused_by_default(copy_checkpoint: Callable[[], Path], tmp_path: Path) -> None:
    folder, marker = copy_checkpoint(), tmp_path / "remote-code-ran"
    with_remote_code(folder, marker, model_type="marker_model")
    with pytest.raises(
        dv.ModelLoadError, match=r"(?s)ValueError: .* contains custom code .*trust_remote_code=True"
    ):
        dv.load_model(folder, device="cpu")
    assert not marker.exists()


def test_remote_code_beside_a_known_architecture_is_ignored(
    copy_checkpoint: Callable[[], Path], tmp_path: Path
) -> None:
    folder, marker = copy_checkpoint(), tmp_path / "remote-code-ran"
    with_remote_code(folder, marker, model_type="deepseek_v3")
    model = dv.load_model(folder, device="cpu")
    assert not marker.exists()
    assert model.family == "deepseek_v3" and len(model.trace("still works").tokens) > 1


def test_trust_remote_code_runs_the_checkpoints_code(
    copy_checkpoint: Callable[[], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``trust_remote_code=True`` does: transformers imports the checkpoint's own Python file (here
    it writes the marker; this toy model then fails, as a :class:`ModelLoadError`, for lack of SDPA)."""
    folder, marker = copy_checkpoint(), tmp_path / "remote-code-ran"
    with_remote_code(folder, marker, model_type="marker_model")
    monkeypatch.setattr(dynamic_module_utils, "HF_MODULES_CACHE", str(tmp_path / "modules"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(dv.ModelLoadError, match="could not load the model"):
        dv.load_model(folder, device="cpu", trust_remote_code=True)
    assert marker.read_text() == "the checkpoint's code ran"
