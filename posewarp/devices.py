"""The rules every command shares: ``--device auto|cpu|cuda|cuda:N`` -> a ``torch.device``, and which autocast
dtype mixed precision uses there."""

from __future__ import annotations

import torch

from posewarp.errors import PosewarpError


def resolve_device(spec: str | torch.device | None = "auto", local_rank: int = 0) -> torch.device:
    """``auto``: the CUDA GPU of this process (``local_rank`` under torchrun) when there is one, else the CPU."""
    spec = str(spec or "auto").strip().lower()
    if spec == "auto":
        return torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise PosewarpError(f"--device {spec}: CUDA is not available on this machine (use --device cpu)")
        if spec == "cuda":
            return torch.device("cuda", local_rank)
        try:
            index = int(spec.split(":", 1)[1])
        except ValueError:
            raise PosewarpError(f"--device {spec!r}: expected auto, cpu, cuda or cuda:N") from None
        if index >= torch.cuda.device_count():
            raise PosewarpError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index + local_rank)
    raise PosewarpError(f"--device {spec!r}: expected auto, cpu, cuda or cuda:N")


def amp_dtype(device: torch.device, mode: str = "auto") -> torch.dtype | None:
    """Autocast dtype for ``mode`` auto|bf16|fp16|off: None (full precision) off CUDA or when off; bf16 where the
    GPU supports it (auto), else fp16 (which needs a gradient scaler when training)."""
    if device.type != "cuda" or mode == "off":
        return None
    if mode == "bf16" or (mode == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16
