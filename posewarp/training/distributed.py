"""Devices, DistributedDataParallel and mixed precision plumbing (reference/ecosystem.md section 3).

``posewarp train`` runs as one process, or as N processes under
``torchrun --standalone --nproc_per_node=N -m posewarp train ...``: the torchrun environment
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) is detected and the process group initialised (gloo on CPU,
nccl on CUDA). Rank 0 writes every file. AMP: bf16 autocast on CUDA where supported (no scaler),
else fp16 with one ``torch.amp.GradScaler`` shared by all optimizers; nothing on CPU.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from posewarp.devices import amp_dtype, resolve_device


@dataclass
class Dist:
    """Where this process sits: rank, world size, device; and the AMP setting for that device."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    amp_dtype: torch.dtype | None = None  # None: full precision
    scaler: torch.amp.GradScaler | None = None
    owns_group: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """Backward through the (fp16-scaled) loss."""
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Optimizer step (skipped by the GradScaler when fp16 gradients overflowed)."""
        if self.scaler is not None:
            self.scaler.step(optimizer)
        else:
            optimizer.step()

    def wrap(self, module: nn.Module) -> nn.Module:
        """DDP-wrap a trainable module when running distributed (parameters are broadcast from rank 0)."""
        if not self.distributed or not any(p.requires_grad for p in module.parameters()):
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        # Buffers (BatchNorm running statistics) stay rank-local after the initial sync, as in stylegan2-ada;
        # rank 0's are the ones saved.
        return nn.parallel.DistributedDataParallel(module, device_ids=ids, forward_sync_buffers=False)

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def all_reduce(self, tensor: torch.Tensor, op=None) -> torch.Tensor:
        if self.distributed:
            dist.all_reduce(tensor, op=op or dist.ReduceOp.SUM)
        return tensor

    def broadcast_object(self, obj: Any) -> Any:
        if not self.distributed:
            return obj
        box = [obj if self.main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def launched_rank() -> int:
    """This process's rank as torchrun set it (0 when not under torchrun), known before any process group exists."""
    return int(os.environ.get("RANK", "0"))


def setup(device: str | None, amp: str = "auto") -> Dist:
    """Read the torchrun environment, pick the device, start the process group if needed."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = launched_rank()
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    dev = resolve_device(device, local_rank if world > 1 else 0)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    owns = False
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            dist.init_process_group("nccl", device_id=dev)
        else:
            dist.init_process_group("gloo")
        owns = True
    dtype = amp_dtype(dev, amp)
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return Dist(rank=rank, world=world, local_rank=local_rank, device=dev, amp_dtype=dtype, scaler=scaler, owns_group=owns)
