"""Synthesis quality on held-out synthetic people: non-learned baselines, the paper's Warping-GAN and its
ablations, posewarp's Warping-GAN and its ablations, every learned model under the same CPU budget.

0. Every learned model's CPU cost per training step is measured first, one after the other under the same
   conditions; its step count is the budget divided by that cost (same seed, data order and batch for all).
1. A ``posewarp synth`` world (the demo's recipe: 40 identities x 6 poses, 20 % of the identities held out,
   seed 0; ``--size 256x176`` for DeepFashion's size), packed.
2. Stage I twice, with the same CPU budget: the paper's parser and posewarp's (with the part-warped prior).
3. The paper's geometric matcher phase, once (``matcher.steps`` of the tiny preset; not counted in any
   budget, so it favours the paper's variant).
4. Every Stage II variant trained with the same CPU budget, then scored on every held-out pair through the
   inference pipeline (``TransferPipeline``: Stage I's predicted parsing, as at test time).
5. The non-learned baselines on the same pairs: copy the source; the source pixels under the paper's
   matcher grid; the per-part keypoint affine warp of the pixels; the per-part mean-colour fill of
   posewarp's predicted target parsing.

Metrics: see ``quality_eval.py`` (SSIM and mask-SSIM as PATN, L1 on the person and the background, Stage I
mIoU, the gate's mean / spread inside the person and its correlation with the pose change).

    python benchmarks/quality.py [--size 128x64] [--budget 600] [--stage1-budget 300] [--jobs 2] [--seeds 0]
                                 [--only "NAME;NAME"] [--calibration-rounds 3] [--keep DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from quality_eval import evaluate  # noqa: E402

from posewarp import config as C  # noqa: E402

# Stage II variants: (name, Stage I it uses, config overrides on the tiny preset). "posewarp" is the tiny
# preset itself; "paper" is the tiny preset's sizes with the paper's design (ModelConfig defaults).
PAPER = C.DESIGNS["paper"]
VARIANTS = [
    ("paper", "paper", PAPER),
    ("paper, no gate", "paper", {**PAPER, "model.gate": False}),
    ("paper, no warp", "paper", {**PAPER, "model.warp": False}),
    ("posewarp", "posewarp", {}),
    ("posewarp, no gate", "posewarp", {"model.gate": False}),
    ("posewarp, no warp", "posewarp", {"model.warp": False}),
    ("posewarp, warp at bottleneck only", "posewarp", {"model.warp_levels": "bottleneck"}),
    ("posewarp, matcher grid", "posewarp", {"model.grids": "matcher"}),
    ("posewarp, matcher+parts grids", "posewarp", {"model.grids": "matcher+parts"}),
    ("posewarp, spatial gate", "posewarp", {"model.gate_mode": "spatial"}),
    ("posewarp, no region style", "posewarp", {"model.region_style": False}),
    ("posewarp, no composite", "posewarp", {"model.composite": False}),
    ("posewarp, transposed convs", "posewarp", {"model.upsample": "transposed"}),
    ("posewarp, trained on true parsing", "posewarp", {"stage1_share": 0.0}),
    ("posewarp, + random-VGG loss", "posewarp", {"loss.vgg": 10.0}),
    ("posewarp, Stage I without the part prior", "no prior", {}),
    ("posewarp, Stage I without skips", "no skips", {}),
]
STAGE1 = {"paper": PAPER, "posewarp": {}, "no prior": {"model.part_prior": False},
          "no skips": {"model.parser_skips": False}}


def make_world(root: Path, size: tuple[int, int], identities: int, poses: int, seed: int) -> Path:
    from posewarp.data import pack
    from posewarp.synth import generate

    world, out = root / "world", root / "world.h5"
    if not out.exists():
        generate(world, identities=identities, poses_per_identity=poses, size=size, seed=seed, test_fraction=0.2,
                 show_progress=False)
        pack(world / "images", world / "keypoints", world / "parsing",
             [world / "pairs-train.csv", world / "pairs-test.csv"], out, show_progress=False)
    return out


def step_cost(stage: int, overrides: dict, parser: dict | None = None, warmup: int = 2, steps: int = 6) -> float:
    """CPU seconds per training step of a config (its generator phase), measured on a few steps; a Stage II
    config that learns from Stage I's parsing runs an untrained parser of the ``parser`` overrides (same cost)."""
    from posewarp import models
    from posewarp.data import PairDataset
    from posewarp.training import resolve
    from posewarp.training.distributed import setup
    from posewarp.training.loop import to_device

    cfg = resolve(stage, "tiny", overrides=overrides)
    ctx = setup("cpu")
    if stage == 1:
        from posewarp.training.stage1 import Stage1

        trainer = Stage1(cfg, ctx)
    else:
        from posewarp.training.stage2 import Stage2

        matcher = models.build_matcher(cfg) if models.uses_matcher(cfg.model) else None
        stage1 = models.build_parser(resolve(1, "tiny", overrides=parser)) if parser is not None else None
        trainer = Stage2(cfg, ctx, matcher=matcher, stage1=stage1)
    data = PairDataset(cfg.data.path, "train", maps=False)
    loader = torch.utils.data.DataLoader(data, batch_size=cfg.data.batch_size)
    batch = to_device(next(iter(loader)), ctx.device)
    trainer.set_training(True)
    for _ in range(warmup):
        trainer.train_step(batch, ctx)
    t = time.process_time()
    for _ in range(steps):
        trainer.train_step(batch, ctx)
    return (time.process_time() - t) / steps


def train_and_score(job: dict) -> dict:
    """One learned model: train it (the tiny preset + overrides, ``job['steps']`` steps), then score it."""
    torch.set_num_threads(1)
    from posewarp.inference import TransferPipeline
    from posewarp.training import resolve, train

    once = 10**9  # validate, sample and snapshot only at the end of each phase
    val_batches = 0 if job["stage"] == 1 else 1  # Stage I: mIoU on the whole test split; Stage II is scored below
    cfg = resolve(job["stage"], "tiny", overrides={**job["overrides"], "max_steps": job["steps"],
                                                   "val_batches": val_batches, "val_every": once, "sample_every": once,
                                                   "snapshot_every": once, "desc": job["desc"]})
    t = time.process_time()
    res = train(cfg, out=job["runs"], device="cpu", show_progress=False, threads=1)
    out = {"name": job["name"], "steps": job["steps"], "cpu_s": time.process_time() - t, "run": res.run_dir,
           "cost": job["cost"]}
    if job["stage"] == 1:
        out["miou"] = res.validation["miou"]
    else:
        pipe = TransferPipeline.load(job["overrides"]["stage1"], res.run_dir, device="cpu")
        out.update(evaluate(pipe.run, job["data"]))
    return out


def baselines_table(data: Path, parser_run: str, matcher_run: str | None, paper_parser_run: str) -> dict:
    """The non-learned baselines, scored like the learned models."""
    from posewarp import baselines, models
    from posewarp.data import add_maps
    from posewarp.formats import parsing as P
    from posewarp.snapshots import load_snapshot

    parser = load_snapshot(parser_run)[2]
    paper_parser = load_snapshot(paper_parser_run)[2]
    matcher = load_snapshot(matcher_run, network="matcher")[2] if matcher_run else None

    def maps(batch):
        return add_maps(dict(batch))

    def matcher_warp(batch):
        b = maps(batch)
        tgt = P.one_hot(models.predict_parsing(paper_parser, b)).float()
        with torch.no_grad():
            grid = matcher(b["src_parsing"], tgt)["grid"](tuple(tgt.shape[2:]))
        return {"image": baselines.grid_warp(b["src_image"], grid)}

    def mean_fill(batch):
        b = maps(batch)
        labels = models.predict_parsing(parser, b)
        return {"image": baselines.mean_colour_fill(b["src_image"], b["src_labels"], labels), "parsing": labels}

    methods = {
        "copy the source": lambda b: {"image": baselines.copy_source(b["src_image"])},
        "per-part keypoint warp": lambda b: {"image": baselines.part_warp(b["src_image"], b["src_labels"],
                                                                          b["src_keypoints"], b["tgt_keypoints"])},
        "per-part mean colour (posewarp Stage I parsing)": mean_fill,
    }
    if matcher is not None:
        methods["matcher-warped pixels (paper Stage I parsing)"] = matcher_warp
    return {name: evaluate(fn, data) for name, fn in methods.items()}


COLUMNS = [("ssim", "SSIM", "{:.3f}"), ("mask_ssim", "mask-SSIM", "{:.3f}"), ("l1_person", "L1 person", "{:.3f}"),
           ("l1_background", "L1 bg", "{:.3f}"), ("miou", "mIoU", "{:.3f}"), ("gate_mean", "gate", "{:.2f}"),
           ("gate_spread", "+-", "{:.2f}"), ("gate_corr", "r(change)", "{:+.2f}"), ("warped_share", "warped px", "{:.2f}"),
           ("warped_corr", "r(change)", "{:+.2f}"), ("steps", "steps", "{:d}"),
           ("cpu_s", "CPU s", "{:.0f}")]


def print_table(rows: dict) -> None:
    width = max(len(n) for n in rows) + 2
    print(f"{'method':{width}s}" + "".join(f"{title:>11s}" for _, title, _ in COLUMNS))
    for name, r in rows.items():
        cells = [fmt.format(r[key]) if key in r else "" for key, _, fmt in COLUMNS]
        print(f"{name:{width}s}" + "".join(f"{c:>11s}" for c in cells))


def summary(rows: dict) -> list[str]:
    best, warp = rows.get("posewarp"), rows.get("per-part keypoint warp")
    lines = []
    if best and warp:
        gain = best["ssim"] - warp["ssim"]
        lines.append(f"posewarp - per-part keypoint warp: {gain:+.3f} SSIM (target >= +0.05: {'met' if gain >= 0.05 else 'NOT met'}); "
                     f"posewarp SSIM {best['ssim']:.3f} (target >= 0.70: {'met' if best['ssim'] >= 0.70 else 'NOT met'})")
    if best:
        ablations = {k: v for k, v in rows.items() if k.startswith("posewarp,")}
        worse = [k for k, v in ablations.items() if not (best["ssim"] > v["ssim"] and best["l1_person"] < v["l1_person"])]
        if ablations:
            lines.append(f"posewarp beats {len(ablations) - len(worse)} of its {len(ablations)} ablations on SSIM and "
                         f"person L1" + (f"; not: {'; '.join(worse)}" if worse else ""))
        if "gate_corr" in best:
            ok = abs(best["gate_corr"]) >= 0.3
            lines.append(f"gate vs pose change: r = {best['gate_corr']:+.2f} (target |r| >= 0.3: {'met' if ok else 'NOT met'})")
    return lines


def calibrate(jobs: list[dict], rounds: int = 3) -> None:
    """Give every job ``budget / cost`` steps, its cost per step measured here, one job after the other in this
    process, before any training starts; ``rounds`` passes over all jobs, each job's cheapest pass counts (other
    work on the machine only ever adds CPU time, so the minimum is the cost under equal conditions)."""
    torch.set_num_threads(1)
    costs: dict[str, list[float]] = {job["name"]: [] for job in jobs}
    for _ in range(rounds):
        for job in jobs:
            parser = STAGE1[job["parser"]] if job["stage"] == 2 else None
            costs[job["name"]].append(step_cost(job["stage"], job["overrides"], parser))
    for job in jobs:
        job["cost"] = min(costs[job["name"]])
        job["steps"] = max(1, round(job["budget"] / job["cost"]))
        print(f"  {job['name']}: {job['cost']:.2f} CPU s/step (passes: "
              f"{', '.join(f'{c:.2f}' for c in costs[job['name']])}) -> {job['steps']} steps", file=sys.stderr, flush=True)


def run_jobs(jobs: list[dict], workers: int) -> dict[str, dict]:
    """Run jobs as soon as the jobs they need have finished (``needs``: names; ``fill``: a function of the
    finished results that completes the job's overrides)."""
    done: dict[str, dict] = {}
    pending = list(jobs)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        running = {}
        while pending or running:
            for job in [j for j in pending if all(n in done for n in j.get("needs", ()))][: workers - len(running)]:
                pending.remove(job)
                fill = job.pop("fill", None)
                if fill is not None:
                    job = {**job, "overrides": {**job["overrides"], **fill(done)}}
                running[pool.submit(train_and_score, job)] = job["name"]
                print(f"  started {job['name']}", file=sys.stderr, flush=True)
            finished = next(iter(__import__("concurrent.futures").futures.as_completed(running)))
            name = running.pop(finished)
            done[name] = finished.result()
            print(f"  finished {name}: {done[name].get('ssim', '')} ({done[name]['steps']} steps)", file=sys.stderr,
                  flush=True)
    return done


def plan(data: Path, runs: Path, budget: float, stage1_budget: float, seed: int, only: set[str] | None) -> list[dict]:
    base = {"data.path": str(data), "seed": seed}
    variants = [v for v in VARIANTS if not only or v[0] in only or v[0] == "paper"]
    parsers = {"paper", "posewarp"} | {parser for _, parser, _ in variants}
    jobs = [{"name": f"stage1 {k}", "stage": 1, "overrides": {**base, **v}, "budget": stage1_budget, "runs": str(runs),
             "desc": f"s{seed}-stage1-" + k.replace(" ", "_"), "data": str(data)} for k, v in STAGE1.items() if k in parsers]
    paper_run = lambda done: done["paper"]["run"] + "/matcher-latest.pt"  # noqa: E731
    for name, parser, overrides in variants:
        job = {"name": name, "stage": 2, "overrides": {**base, **overrides}, "budget": budget, "runs": str(runs),
               "desc": f"s{seed}-" + name.replace(", ", "-").replace(" ", "_").replace("+", ""), "data": str(data),
               "needs": [f"stage1 {parser}"], "parser": parser}
        from posewarp import models

        cfg = C.preset("tiny", 2).replace(overrides)
        uses = models.uses_matcher(cfg.model)
        if uses and name != "paper":
            job["needs"].append("paper")
        job["fill"] = (lambda p, u, n: lambda done: {
            "stage1": done[f"stage1 {p}"]["run"], **({"matcher.path": paper_run(done)} if u and n != "paper" else {}),
        })(parser, uses, name)
        jobs.append(job)
    return jobs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="128x64", help="HxW of the world (128x64 or 256x176)")
    ap.add_argument("--identities", type=int, default=40)
    ap.add_argument("--poses", type=int, default=6)
    ap.add_argument("--budget", type=float, default=600.0, help="CPU seconds of training per Stage II model")
    ap.add_argument("--stage1-budget", type=float, default=300.0, help="CPU seconds of training per Stage I model")
    ap.add_argument("--jobs", type=int, default=2, help="models trained at once (one thread each)")
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds (the world stays seed 0)")
    ap.add_argument("--calibration-rounds", type=int, default=3, help="passes measuring every model's cost per step")
    ap.add_argument("--only", default=None, help="semicolon-separated variant names (the paper's always runs)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the world and the runs here")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    root = args.keep or Path(tempfile.mkdtemp(prefix="posewarp-quality-"))
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    data = make_world(root, size, args.identities, args.poses, seed=0)
    only = {name.strip() for name in args.only.split(";")} if args.only else None
    unknown = (only or set()) - {name for name, _, _ in VARIANTS}
    if unknown:
        ap.error(f"unknown variants: {'; '.join(sorted(unknown))}")
    per_seed = []
    for seed in (int(s) for s in args.seeds.split(",")):
        jobs = plan(data, root / "runs", args.budget, args.stage1_budget, seed, only)
        calibrate(jobs, args.calibration_rounds)
        done = run_jobs(jobs, args.jobs)
        rows = baselines_table(data, done["stage1 posewarp"]["run"], done["paper"]["run"] + "/matcher-latest.pt",
                               done["stage1 paper"]["run"])
        for name, _, _ in VARIANTS:
            if name in done:
                rows[name] = done[name]
        for k in STAGE1:
            if f"stage1 {k}" in done:
                rows[f"Stage I ({k})"] = {key: done[f"stage1 {k}"][key] for key in ("miou", "steps", "cpu_s")}
        per_seed.append(rows)
    rows = {name: _mean([r[name] for r in per_seed]) for name in per_seed[0]}
    doc = {"world": {"size": list(size), "identities": args.identities, "poses": args.poses, "seed": 0,
                     "pairs": rows["copy the source"]["pairs"]},
           "budget_cpu_s": args.budget, "seeds": args.seeds, "threads_per_model": 1, "rows": rows,
           "summary": summary(rows), "wall_s": time.time() - t0, "root": str(root)}
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    print(f"held-out synthetic people: {args.identities} identities x {args.poses} poses at {args.size}, "
          f"{doc['world']['pairs']} test pairs; every Stage II model {args.budget:.0f} CPU s of training, every Stage I "
          f"{args.stage1_budget:.0f} (1 thread each; the paper's matcher phase, {C.preset('tiny', 2).matcher.steps} "
          f"steps, not counted); seeds {args.seeds}")
    print_table(rows)
    print("\n".join(doc["summary"]))
    print(f"wall {doc['wall_s'] / 60:.1f} min; world and runs in {root}")


def _mean(rows: list[dict]) -> dict:
    out = {}
    for key, value in rows[0].items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out[key] = value
        else:
            vals = [r[key] for r in rows]
            out[key] = type(value)(sum(vals) / len(vals)) if isinstance(value, float) else round(sum(vals) / len(vals))
    if len(rows) > 1:
        out["ssim_seeds"] = [r.get("ssim") for r in rows]
    return out


if __name__ == "__main__":
    main()
