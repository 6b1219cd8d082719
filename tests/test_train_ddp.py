"""Two processes, gloo on the CPU: DDP keeps the ranks in sync and only rank 0 writes."""

import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from train_world import make_pack, tiny_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, ports: list[int], pack: str, out: str, dump: str) -> None:
    torch.set_num_threads(1)
    from posewarp import snapshots as checkpoint
    from posewarp.training import loop, run_dir
    from posewarp.training.runner import train

    writes = []
    for module, name in ((checkpoint, "save"), (run_dir, "append_stats"), (run_dir, "write_config"),
                         (run_dir, "create")):
        original = getattr(module, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            writes.append(_name)
            return _original(*args, **kwargs)

        setattr(module, name, spy)
    finals = {}
    original_run = loop.run_phase

    def run_phase(stage, *args, **kwargs):
        result = original_run(stage, *args, **kwargs)
        # Parameters; buffers (BatchNorm running statistics) are rank-local by design, rank 0's are saved.
        finals[(stage.kind, stage.phase)] = {
            k: {n: p.detach().clone() for n, p in m.named_parameters()} for k, m in stage.nets.items()
        }
        return result

    loop.run_phase = run_phase
    from pathlib import Path

    runs = []
    for stage, port in zip((1, 2), ports):
        # What torchrun would set.
        os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                          MASTER_PORT=str(port))
        # Stage II with both grids: the matcher phase, then posewarp's generator (channel gates, composite output)
        cfg = tiny_config(stage, Path(pack), {"max_steps": 3, "matcher.steps": 2, "snapshot_every": 2, "val_every": 3,
                                              **({"model.grids": "matcher+parts"} if stage == 2 else {})})
        result = train(cfg, out=out, device="cpu", show_progress=False)
        runs.append({"run_dir": result.run_dir, "world": result.world, "val": json.dumps(result.validation)})
    torch.save({"finals": {"/".join(k): v for k, v in finals.items()}, "writes": writes, "runs": runs},
               f"{dump}/rank{rank}.pt")


@pytest.mark.slow
def test_two_gloo_ranks_stay_in_sync_and_only_rank_0_writes(tmp_path):
    pack = make_pack(tmp_path)
    out, dump = tmp_path / "runs", tmp_path / "dump"
    dump.mkdir()
    mp.start_processes(_worker, args=(2, [_free_port(), _free_port()], str(pack), str(out), str(dump)), nprocs=2,
                       start_method="spawn", join=True)
    r0 = torch.load(dump / "rank0.pt", weights_only=True)
    r1 = torch.load(dump / "rank1.pt", weights_only=True)
    assert r0["runs"] == r1["runs"]  # rank 1 learned each run dir from rank 0; validation numbers are broadcast
    assert [r["world"] for r in r0["runs"]] == [2, 2]
    assert r1["writes"] == [] and "save" in r0["writes"] and r0["writes"].count("create") == 2
    assert sorted(os.listdir(out)) == sorted(os.path.basename(r["run_dir"]) for r in r0["runs"])
    assert set(r0["finals"]) == {"stage1/generator", "matcher/matcher", "stage2/generator"}
    for phase, nets in r0["finals"].items():
        for name, weights in nets.items():
            other = r1["finals"][phase][name]
            assert all(torch.equal(weights[k], other[k]) for k in weights), (phase, name)
    from posewarp import snapshots as checkpoint

    for run, key in zip(r0["runs"], ("stage1/generator", "stage2/generator")):
        state = checkpoint.load(os.path.join(run["run_dir"], "training-state.pt"))
        assert state["world"] == 2 and state["step"] == 3
        final = r0["finals"][key]["generator"]
        assert all(torch.equal(v, state["networks"]["generator"][k]) for k, v in final.items())  # rank 0 saved it
