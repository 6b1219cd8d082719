"""The GPU check in one script (under 5 minutes on one card): preprocessing throughput, Stage II training speed, DDP.

    python benchmarks/gpu.py [--device cuda] [--steps 10]

Prints one table naming the device:

* ``posewarp keypoints`` and ``posewarp parse`` throughput in images/s at batch 1 and 16 (256x176 pictures,
  networks, decoding, argmax; seeded random weights of the real architectures);
* Stage II training steps/s at the ``deepfashion-256x176`` preset size (its batch of 8, 256x176), built through the
  public training API (``Stage2`` with the preset config; random VGG trunks so that no download is needed): fp32
  and AMP bf16, each with channels_last off and on;
* one Stage II training step with the generator and discriminator wrapped in DistributedDataParallel by the
  training code's own ``Dist.wrap``, in a one-process NCCL group.

Without a GPU it runs its CPU part so that the script itself stays tested: batch 1 and 4 throughput, one
``tiny``-preset Stage II step at 128x64 in fp32, a one-process gloo DDP step.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from posewarp.data.dataset import add_maps  # noqa: E402
from posewarp.models import build_matcher  # noqa: E402
from posewarp.preprocess import keypoints as KP  # noqa: E402
from posewarp.preprocess import parser as P  # noqa: E402
from posewarp.preprocess.openpose_net import BodyPoseNet  # noqa: E402
from posewarp.preprocess.schp_net import SCHPNet  # noqa: E402
from posewarp.config import preset  # noqa: E402
from posewarp.training.distributed import Dist  # noqa: E402
from posewarp.training.stage2 import Stage2  # noqa: E402

ROWS: list[tuple[str, str]] = []


def row(name: str, fn, *args) -> None:
    """Run ``fn(*args)``, one measurement; a failure becomes its row's text instead of ending the script."""
    start = time.perf_counter()
    try:
        value = fn(*args)
    except Exception as exc:  # noqa: BLE001 -- report and go on to the next measurement
        traceback.print_exc()
        value = f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:100] if str(exc) else ''}"
    ROWS.append((name, value))
    print(f"{name}: {value}  ({time.perf_counter() - start:.0f} s)", flush=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images_per_second(fn, items: list, batch: int, device: torch.device, rounds: int) -> str:
    """``fn(list of images)`` on ``rounds`` batches after one warm-up batch."""
    fn(items[:batch])
    sync(device)
    start = time.perf_counter()
    for _ in range(rounds):
        fn(items[:batch])
    sync(device)
    return f"{batch * rounds / (time.perf_counter() - start):.1f} images/s"


def pictures(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (256, 176, 3), dtype=np.uint8) for _ in range(n)]


def stage2_batch(batch: int, size: tuple[int, int], device: torch.device) -> dict:
    g = torch.Generator().manual_seed(0)
    doc = {}
    for side in ("src", "tgt"):
        doc[f"{side}_image"] = torch.rand(batch, 3, *size, generator=g) * 2 - 1
        doc[f"{side}_labels"] = torch.randint(0, 20, (batch, *size), generator=g)
        xy = torch.rand(batch, 18, 2, generator=g) * torch.tensor([size[1] - 1, size[0] - 1])
        doc[f"{side}_keypoints"] = torch.cat([xy, torch.ones(batch, 18, 1)], dim=2)
    return add_maps({k: v.to(device) for k, v in doc.items()})


class OneProcessDDP(Dist):
    """A ``Dist`` that wraps trainable networks in DDP although the group has one process."""

    @property
    def distributed(self) -> bool:
        return True


def stage2_steps(preset_name: str, ctx: Dist, channels_last: bool, steps: int) -> str:
    """Training steps/s of ``Stage2`` at the preset's batch (256x176; the tiny preset at 128x64)."""
    config = preset(preset_name, 2).replace({"model.vgg": "random"})
    stage = Stage2(config, ctx, matcher=build_matcher(config))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for net in stage.nets.values():
        net.to(memory_format=fmt)
    size = (256, 176) if preset_name != "tiny" else (128, 64)
    batch = stage2_batch(config.data.batch_size, size, ctx.device)
    batch = {k: v.contiguous(memory_format=fmt) if v.ndim == 4 else v for k, v in batch.items()}
    stage.set_training(True)
    for _ in range(2):  # warm-up (cuDNN autotuning, allocator)
        stage.train_step(batch, ctx)
    sync(ctx.device)
    start = time.perf_counter()
    for _ in range(steps):
        stats = stage.train_step(batch, ctx)
    sync(ctx.device)
    seconds = (time.perf_counter() - start) / steps
    loss = sum(float(torch.as_tensor(v).float().mean()) for v in stats.values())
    if not np.isfinite(loss):
        raise FloatingPointError(f"non-finite losses: {stats}")
    size_text = f"batch {config.data.batch_size} at {size[0]}x{size[1]}"
    return f"{1 / seconds:.2f} steps/s ({seconds * 1000:.0f} ms/step, {size_text})"


def ddp_step(preset_name: str, device: torch.device) -> str:
    """One Stage II step with DDP-wrapped networks in a one-process group (NCCL on CUDA, gloo on the CPU)."""
    import torch.distributed as dist

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = "nccl" if device.type == "cuda" else "gloo"
    extra = {"device_id": device} if device.type == "cuda" else {}
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1, **extra)
    try:
        ctx = OneProcessDDP(device=device)
        result = stage2_steps(preset_name, ctx, channels_last=False, steps=1)
        check = torch.ones(1, device=device)
        dist.all_reduce(check)
        return f"ok ({backend}, all_reduce {check.item():.0f}): {result}"
    finally:
        dist.destroy_process_group()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=10, help="timed Stage II steps per configuration (GPU)")
    args = ap.parse_args()
    device = torch.device(args.device)
    gpu = device.type == "cuda"
    if gpu:
        torch.backends.cudnn.benchmark = True
        name = f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda}, torch {torch.__version__})"
    else:
        name = f"CPU only ({os.cpu_count()} CPUs, {torch.get_num_threads()} thread(s), torch {torch.__version__})"
    print(f"device: {name}", flush=True)
    batches, rounds = ((1, 16), 4) if gpu else ((1, 4), 1)
    items = pictures(max(batches))

    torch.manual_seed(0)
    estimator = KP.KeypointEstimator(net=BodyPoseNet(), device=device, batch_size=max(batches))
    for batch in batches:
        row(f"keypoints 256x176, batch {batch}", images_per_second, estimator.batch, items, batch, device, rounds)
    state = SCHPNet(num_classes=20).state_dict()
    parser = P.HumanParser(network=P.build_network(state, P.DATASETS["lip"], inference=True), device=device)
    for batch in batches:
        row(f"parse 256x176 (473 input), batch {batch}", images_per_second, parser.batch, items, batch, device, rounds)
    del estimator, parser, state

    if gpu:
        for amp in (None, torch.bfloat16):
            for cl in (False, True):
                label = (f"Stage II train, deepfashion-256x176, {'AMP bf16' if amp else 'fp32'}, "
                         f"channels_last {'on' if cl else 'off'}")  # fmt: skip
                row(label, stage2_steps, "deepfashion-256x176", Dist(device=device, amp_dtype=amp), cl, args.steps)
        row("DDP step, 1 process, NCCL, deepfashion-256x176", ddp_step, "deepfashion-256x176", device)
    else:
        row("Stage II train, tiny 128x64, fp32 (CPU part)", stage2_steps, "tiny", Dist(device=device), False, 1)
        row("DDP step, 1 process, gloo, tiny (CPU part)", ddp_step, "tiny", device)

    width = max(len(n) for n, _ in ROWS)
    print(f"\n| {name} | |\n|{'-' * (width + 2)}|---|")
    for n, v in ROWS:
        print(f"| {n:<{width}} | {v} |")
    if any(v.startswith("FAILED") for _, v in ROWS):
        sys.exit(1)


if __name__ == "__main__":
    main()
