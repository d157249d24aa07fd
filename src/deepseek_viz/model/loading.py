"""Loading a checkpoint (the bundled one, a local folder or a hub name) into a :class:`HookedModel`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from transformers import AutoModelForCausalLM, AutoTokenizer

from .errors import DeviceUnavailableError, ModelLoadError
from .hooked_model import HookedModel

BUNDLED_MODEL = Path(__file__).parent / "assets" / "deepseek-v3-tiny"


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` picks CUDA when present, else the CPU; an absent device raises a clear error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(
            "device='cuda' was asked for but this machine has no usable CUDA GPU; use device='cpu' or 'auto'."
        )
    return resolved


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """``"auto"`` is bfloat16 on CUDA and float32 elsewhere; names like ``"bfloat16"`` are accepted."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    resolved = getattr(torch, dtype, None)
    if not isinstance(resolved, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}; use 'auto', 'float32', 'bfloat16' or 'float16'")
    return resolved


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~")) or name.count("/") > 1 or Path(name).exists()


def _check_folder(folder: Path) -> None:
    """A :class:`ModelLoadError` naming the file if ``folder`` has no ``config.json``, or if that file or a
    ``*.safetensors`` weights file is damaged (transformers' own errors do not say which file)."""
    config = folder / "config.json"
    if not config.is_file():
        raise ModelLoadError(f"no model at {folder}: the folder does not exist or has no config.json")
    try:
        settings = json.loads(config.read_bytes())
    except ValueError as error:  # bad JSON or text encoding
        raise ModelLoadError(
            f"{config} is not valid JSON ({error}); save or download the checkpoint again"
        ) from error
    if not isinstance(settings, dict):
        raise ModelLoadError(
            f"{config} holds a JSON {type(settings).__name__}, not an object of model settings"
        )
    for weights in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(weights, framework="pt"):
                pass
        except SafetensorError as error:
            raise ModelLoadError(
                f"{weights} is truncated or not a safetensors file ({error}); save or download it again"
            ) from error


@contextmanager
def _load_errors(part: str, source: str, local: bool) -> Iterator[None]:
    """Turn whatever loading ``part`` raises (transformers, tokenizers and safetensors raise many types,
    plain ``Exception`` among them) into a :class:`ModelLoadError` that names ``source``."""
    try:
        yield
    except Exception as error:
        advice = (
            "" if local else " (a hub name needs network access or a local copy: pass its folder instead)"
        )
        raise ModelLoadError(
            f"could not load the {part} of {source!r}: {type(error).__name__}: {error}{advice}"
        ) from error


def load_model(
    name_or_path: str | Path | None = None,
    *,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
    trust_remote_code: bool = False,
    max_tokens: int | None = None,
    cache_size: int = 4,
    max_seconds: float | None = None,
    memory_budget: int | None = None,
    **from_pretrained: Any,
) -> HookedModel:
    """Load a causal LM and its fast tokenizer, ready to trace.

    ``name_or_path`` is a hub name (``"deepseek-ai/DeepSeek-V2-Lite"``), a local folder, or ``None`` for
    the small DeepSeek-V3-architecture model shipped with the package. Remote code is never run unless
    ``trust_remote_code=True`` (a checkpoint that needs it is refused with :class:`ModelLoadError`; with
    it, the checkpoint's Python files are imported and run). A missing or damaged checkpoint raises
    :class:`ModelLoadError` naming the path and what is wrong. ``max_tokens``, ``cache_size``,
    ``max_seconds`` and ``memory_budget`` go to :class:`HookedModel`; extra keyword arguments go to ``from_pretrained``.
    """
    source = str(BUNDLED_MODEL if name_or_path is None else name_or_path)
    local = _looks_like_path(source)
    if local:
        path = Path(source).expanduser()
        _check_folder(path)
        source = str(path)
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    with _load_errors("tokenizer", source, local):
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
    with _load_errors("model", source, local):
        model = AutoModelForCausalLM.from_pretrained(
            source,
            dtype=torch_dtype,
            attn_implementation="sdpa",
            trust_remote_code=trust_remote_code,
            **from_pretrained,
        )
    torch.nn.Module.to(model, torch_device)  # the plain Module.to: transformers' typed wrapper confuses mypy
    return HookedModel(
        model,
        tokenizer,
        max_tokens=max_tokens,
        cache_size=cache_size,
        name=str(name_or_path or "bundled"),
        max_seconds=max_seconds,
        memory_budget=memory_budget,
    )
