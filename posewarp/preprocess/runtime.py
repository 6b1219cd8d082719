"""How a preprocessing network runs: device, memory format, inference mode, autocast and optional torch.compile.

Choices, measured with ``benchmarks/keypoints.py`` and ``benchmarks/parse.py``:

* Memory format: by default channels_last on CUDA and on CPUs with AVX-512, where oneDNN's NHWC kernels were
  faster (SCHP about 10%, OpenPose about 15%); contiguous NCHW elsewhere (channels_last ran the OpenPose network
  about 40% slower on an AVX2 CPU). A caller that needs the reference's exact numbers asks for NCHW. The input
  is laid out in the chosen format before the call: a strided view (a transposed HWC array) would otherwise
  pick the layout of the whole network by accident.
* ``torch.inference_mode``; on CUDA with ``amp`` autocast to bf16 where supported, else fp16; CPU float32.
* ``compile``: ``torch.compile`` (inductor, weights frozen as constants) of the NCHW network: inductor picks
  the convolutions' layouts itself (a channels_last module compiled slower on the CPU). When compiling fails
  (no C++ compiler, no Triton, an unsupported operation) the runner keeps the reason in
  :attr:`NetworkRunner.note` and runs eagerly from then on, so a missing compiler costs speed, never the job.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from posewarp.devices import amp_dtype


def preferred_memory_format(device: torch.device) -> torch.memory_format:
    """channels_last on CUDA and AVX-512 CPUs, contiguous NCHW on other CPUs."""
    if device.type == "cuda":
        return torch.channels_last
    if device.type == "cpu" and torch.backends.cpu.get_cpu_capability().startswith("AVX512"):
        return torch.channels_last
    return torch.contiguous_format


class NetworkRunner:
    """``runner(x)`` = ``net(x)`` on ``device`` in the chosen layout, without autograd, maybe compiled."""

    def __init__(
        self,
        net: nn.Module,
        device: torch.device,
        *,
        amp: bool = True,
        compile: bool = False,
        memory_format: torch.memory_format | None = None,
    ):
        self.device = device
        self.memory_format = torch.contiguous_format if compile else memory_format or preferred_memory_format(device)
        self.net = net.to(device).eval().to(memory_format=self.memory_format)
        self.amp_dtype = amp_dtype(device, "auto" if amp else "off")
        self.note = ""
        self.compiled = None
        if compile:
            self.compiled = torch.compile(self.net, options={"freezing": True})

    @property
    def layout(self) -> str:
        return "channels_last" if self.memory_format == torch.channels_last else "NCHW"

    def describe(self) -> str:
        """E.g. ``cpu, channels_last, compiled`` (with the reason when compiling failed)."""
        mode = "compiled" if self.compiled is not None else "eager"
        amp = f", autocast {str(self.amp_dtype).removeprefix('torch.')}" if self.amp_dtype else ""
        return f"{self.device.type}, {self.layout}{amp}, {mode}" + (f" ({self.note})" if self.note else "")

    def __call__(self, x: torch.Tensor):
        x = x.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
        autocast = torch.autocast("cuda", dtype=self.amp_dtype) if self.amp_dtype else contextlib.nullcontext()
        with torch.inference_mode(), autocast:
            if self.compiled is not None:
                try:
                    return self.compiled(x)
                except Exception as exc:  # noqa: BLE001 -- any compiler failure: fall back to eager
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    self.note = f"torch.compile failed, running eagerly: {first[:160]}"
                    self.compiled = None
            return self.net(x)
