"""Loading a checkpoint (the bundled one, a local folder or a hub name) into a :class:`HookedModel`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
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


def load_model(
    name_or_path: str | Path | None = None,
    *,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
    trust_remote_code: bool = False,
    max_tokens: int | None = None,
    cache_size: int = 4,
    **from_pretrained: Any,
) -> HookedModel:
    """Load a causal LM and its fast tokenizer, ready to trace.

    ``name_or_path`` is a hub name (``"deepseek-ai/DeepSeek-V2-Lite"``), a local folder, or ``None`` for
    the small DeepSeek-V3-architecture model shipped with the package. Remote code is never run unless
    ``trust_remote_code=True``. Extra keyword arguments go to ``from_pretrained``.
    """
    source = str(BUNDLED_MODEL if name_or_path is None else name_or_path)
    if _looks_like_path(source):
        path = Path(source).expanduser()
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"no model at {path}: the folder does not exist or has no config.json")
        source = str(path)
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(
            source,
            dtype=torch_dtype,
            attn_implementation="sdpa",
            trust_remote_code=trust_remote_code,
            **from_pretrained,
        )
    except (OSError, ValueError) as error:
        raise ModelLoadError(
            f"could not load {source!r}: {error}. A hub name needs network access or a local copy "
            "(pass its folder instead); checkpoints that need remote code need trust_remote_code=True."
        ) from error
    torch.nn.Module.to(model, torch_device)  # the plain Module.to: transformers' typed wrapper confuses mypy
    return HookedModel(
        model, tokenizer, max_tokens=max_tokens, cache_size=cache_size, name=str(name_or_path or "bundled")
    )
