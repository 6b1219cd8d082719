"""Synthesis quality on held-out synthetic people: non-learned baselines, the paper's Warping-GAN and its
ablations, posewarp's Warping-GAN and its ablations, every learned model under the same CPU budget.

0. Every learned model's CPU cost per training step is measured first, one after the other under the same
   conditions; its step count is the budget divided by that cost (same seed, data order and batch for all);
   the table's "CPU s" is then the training's measured process time.
1. A ``posewarp synth`` world (``--recipe``, default ``fashion``: per-photo backdrops and light, garments with
   a back, estimated keypoints and parsing; 40 identities x 6 poses; identities split 65/15/20 % into train,
   validation and test by their own draw), packed twice: what the models read (estimated inputs) and the
   truth they are scored against.
2. A judge: a parser trained in-tool on the training identities' photos (``metrics.world_parser``), for the
   output-parsing mIoU and the world-LPIPS / world-FID features; and a second one (another seed, three levels
   instead of four) whose encoder is the perceptual loss's trunk offline (``model.vgg: world``), where the
   ImageNet VGG19 cannot be had: the paper's design uses it in place of VGG19, and posewarp as an option.
3. Stage I twice, with the same CPU budget: the paper's parser and posewarp's (with the part-warped prior).
4. The paper's geometric matcher phase, once (``matcher.steps`` of the tiny preset; not counted in any
   budget, so it favours the paper's variant).
5. Every Stage II variant trained with the same CPU budget (validated on the validation split), then scored
   on every validation and test pair through the inference pipeline (``TransferPipeline``: Stage I's predicted
   parsing, as at test time).
6. The non-learned baselines on the same pairs: the target photo itself (the ceiling of every measure: what the
   judge's output-parsing mIoU is on real photos); copy the source; background only (the source with its person
   filled in: what each metric gives for no person at all); the source pixels under the paper's matcher
   grid; the bounded per-part keypoint warp; the per-part mean-colour fill of posewarp's predicted parsing;
   Stage I + a hand-written composite (``baselines.parsing_composite``).

Metrics: see ``quality_eval.py``. Designs are compared on the validation table, issue 20's targets checked
on the test table; with several ``--seeds`` every number is the mean over seeds and "+-seeds" the SSIM's
spread.

    python benchmarks/quality.py [--recipe fashion] [--size 128x64] [--budget 600] [--stage1-budget 300]
                                 [--jobs 2] [--seeds 0,1] [--only "NAME;NAME"] [--keep DIR] [--json]
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

import numpy as np  # noqa: E402
import torch  # noqa: E402
from quality_eval import evaluate  # noqa: E402

from posewarp import config as C  # noqa: E402

# Stage II variants: (name, Stage I it uses, config overrides on the tiny preset). "posewarp" is the tiny
# preset itself; "paper" is the tiny preset's sizes with the paper's design (ModelConfig defaults).
FEATURES = {"model.vgg": "world"}  # + vgg_path, the world's feature parser (``plan``)
PAPER = {**C.DESIGNS["paper"], **FEATURES}
FEATURE_PARSER = {"seed": 1, "channels": (16, 32, 64)}  # not the judge: another seed, one level fewer
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
    ("posewarp, no composite", "posewarp", {"model.composite": False, "model.refine": False}),
    ("posewarp, transposed convs", "posewarp", {"model.upsample": "transposed"}),
    ("posewarp, trained on true parsing", "posewarp", {"stage1_share": 0.0}),
    ("posewarp, + in-tool feature loss", "posewarp", {"loss.vgg": 10.0, **FEATURES}),
    ("posewarp, no refiner", "posewarp", {"model.refine": False}),
    ("posewarp, no SSIM loss", "posewarp", {"loss.ssim": 0.0}),
    ("posewarp, neither refiner nor SSIM loss", "posewarp", {"model.refine": False, "loss.ssim": 0.0}),
    ("posewarp, Stage I without the part prior", "no prior", {}),
    ("posewarp, Stage I without skips", "no skips", {}),
]
STAGE1 = {"paper": PAPER, "posewarp": {}, "no prior": {"model.part_prior": False},
          "no skips": {"model.parser_skips": False}}


def make_world(root: Path, size: tuple[int, int], identities: int, poses: int, seed: int, recipe: str) -> dict:
    """The world (20 % of the identities for test, 15 % for validation), packed: ``world.h5`` holds what the
    models read (estimated keypoints and parsing under a recipe that estimates them), ``truth.h5`` the same
    held-out pairs with the exact ones (what they are scored against)."""
    from posewarp.data import pack
    from posewarp.synth import generate

    world = root / "world"
    if not (world / "meta.json").exists():
        generate(world, identities=identities, poses_per_identity=poses, size=size, seed=seed, test_fraction=0.2,
                 val_fraction=0.15, recipe=recipe, show_progress=False)
    pairs = [world / f"pairs-{s}.csv" for s in ("train", "val", "test")]
    if not (root / "world.h5").exists():
        pack(world / "images", world / "keypoints", world / "parsing", pairs, root / "world.h5", show_progress=False)
    truth = world / "truth"
    if truth.is_dir() and not (root / "truth.h5").exists():
        pack(world / "images", truth / "keypoints", truth / "parsing", pairs[1:], root / "truth.h5",
             show_progress=False)
    views = dict(line.split(",") for line in (world / "views.csv").read_text().splitlines()[1:])
    return {"data": str(root / "world.h5"), "truth": str(root / "truth.h5") if truth.is_dir() else None,
            "views": views, "folder": str(world), "judge": str(root / "judge.pt"), "features": str(root / "features.pt")}


def fit_judge(world: dict, **train: int) -> None:
    """Parsers trained in-tool on the training identities' photos and true parsing, cached beside the world: the
    judge (of the output-parsing mIoU and the world-LPIPS/FID features) and the perceptual loss's trunk."""
    from posewarp.formats import images, parsing
    from posewarp.formats.keypoints import read_pairs_csv
    from posewarp.metrics.world_parser import fit_or_load_world_parser

    folder = Path(world["folder"])
    names = sorted({name for pair in read_pairs_csv(folder / "pairs-train.csv") for name in pair})
    labels_dir = folder / ("truth/parsing" if world["truth"] else "parsing")
    rgb = np.stack([images.read_image(folder / "images" / n) for n in names])
    labels = np.stack([parsing.read_label_png(labels_dir / n) for n in names])
    for name, path, settings in (("judge", world["judge"], train), ("feature parser", world["features"],
                                                                    {**train, **FEATURE_PARSER})):
        t = time.process_time()
        fit_or_load_world_parser(path, rgb, labels, **settings)
        print(f"  {name}: {len(names)} training photos, {time.process_time() - t:.0f} CPU s", file=sys.stderr,
              flush=True)


def score(method, world: dict, judge) -> dict:
    """``evaluate`` on the validation and the test split: ``{"val": {...}, "test": {...}}``."""
    return {split: evaluate(method, world["data"], split, truth=world["truth"], judge=judge, views=world["views"])
            for split in ("val", "test")}


def step_cost(stage: int, overrides: dict, parser: dict | None = None, warmup: int = 2, steps: int = 6) -> float:
    """CPU seconds per training step of a config (its generator phase), measured on a few steps; a Stage II
    config that learns from Stage I's parsing runs an untrained parser of the ``parser`` overrides (same cost)."""
    from posewarp import models
    from posewarp.data import PairDataset
    from posewarp.config import resolve
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
    from posewarp.config import resolve
    from posewarp.training import train

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
        from posewarp.metrics.world_parser import load_world_parser

        pipe = TransferPipeline.load(job["overrides"]["stage1"], res.run_dir, device="cpu")
        judge = load_world_parser(job["world"]["judge"]).eval()
        out.update(score(pipe.run, job["world"], judge))
    return out


def baselines_table(world: dict, parser_run: str, matcher_run: str | None, paper_parser_run: str) -> dict:
    """The non-learned baselines, scored like the learned models."""
    from posewarp import baselines, models
    from posewarp.data import add_maps
    from posewarp.formats import parsing as P
    from posewarp.metrics.world_parser import load_world_parser
    from posewarp.snapshots import load_snapshot

    parser = load_snapshot(parser_run)[2]
    paper_parser = load_snapshot(paper_parser_run)[2]
    matcher = load_snapshot(matcher_run, network="matcher")[2] if matcher_run else None
    judge = load_world_parser(world["judge"]).eval()

    def maps(batch):
        return add_maps(dict(batch))

    def matcher_warp(batch):
        b = maps(batch)
        tgt = P.one_hot(models.predict_parsing(paper_parser, b)).float()
        grid = matcher(b["src_parsing"], tgt)["grid"](tuple(tgt.shape[2:]))
        return {"image": baselines.grid_warp(b["src_image"], grid)}

    def mean_fill(batch):
        b = maps(batch)
        labels = models.predict_parsing(parser, b)
        return {"image": baselines.mean_colour_fill(b["src_image"], b["src_labels"], labels), "parsing": labels}

    def hand_composite(batch):
        b = maps(batch)
        labels = models.predict_parsing(parser, b)
        return {"image": baselines.parsing_composite(b["src_image"], b["src_labels"], b["src_keypoints"],
                                                     b["tgt_keypoints"], labels), "parsing": labels}

    methods = {
        "the target photo itself (ceiling)": lambda b: {"image": b["tgt_image"]},
        "copy the source": lambda b: {"image": baselines.copy_source(b["src_image"])},
        "background only (no person)": lambda b: {"image": baselines.background_only(b["src_image"], b["src_labels"])},
        "per-part keypoint warp (bounded)": lambda b: {"image": baselines.part_warp(
            b["src_image"], b["src_labels"], b["src_keypoints"], b["tgt_keypoints"])},
        "per-part mean colour (posewarp Stage I parsing)": mean_fill,
        "Stage I + hand composite": hand_composite,
    }
    if matcher is not None:
        methods["matcher-warped pixels (paper Stage I parsing)"] = matcher_warp
    return {name: score(fn, world, judge) for name, fn in methods.items()}


COLUMNS = [("ssim", "SSIM", "{:.3f}"), ("ssim_sd", "+-seeds", "{:.3f}"), ("mask_ssim", "mask-SSIM", "{:.3f}"),
           ("l1_person", "L1 person", "{:.3f}"), ("l1_background", "L1 bg", "{:.3f}"), ("ghost", "ghost", "{:.3f}"),
           ("out_miou", "out-mIoU", "{:.3f}"), ("wlpips", "wLPIPS", "{:.3f}"), ("wfid", "wFID", "{:.2f}"),
           ("ssim_same", "SSIM same", "{:.3f}"), ("ssim_turn", "SSIM turn", "{:.3f}"), ("ssim_side", "SSIM side", "{:.3f}"),
           ("miou", "mIoU", "{:.3f}"), ("gate_mean", "gate", "{:.2f}"), ("gate_corr", "r(change)", "{:+.2f}"),
           ("warped_share", "warped px", "{:.2f}"), ("steps", "steps", "{:d}"), ("cpu_s", "CPU s", "{:.0f}")]


def print_table(rows: dict) -> None:
    width = max(len(n) for n in rows) + 2
    print(f"{'method':{width}s}" + "".join(f"{title:>10s}" for _, title, _ in COLUMNS))
    for name, r in rows.items():
        cells = [fmt.format(r[key]) if key in r and r[key] == r[key] else "" for key, _, fmt in COLUMNS]
        print(f"{name:{width}s}" + "".join(f"{c:>10s}" for c in cells))


def _check(lines: list[str], what: str, ok: bool, detail: str) -> None:
    lines.append(f"{what}: {detail} ({'met' if ok else 'NOT met'})")


def summary(rows: dict) -> list[str]:
    """Issue 20's targets for posewarp on these rows (the test split): each line says met or NOT met, by how much."""
    best = rows.get("posewarp")
    if not best:
        return []
    lines: list[str] = []
    hand, warp = rows.get("Stage I + hand composite"), rows.get("per-part keypoint warp (bounded)")
    copy = rows.get("copy the source")
    if hand:
        gain = best["ssim"] - hand["ssim"]
        _check(lines, "posewarp - Stage I + hand composite", gain >= 0.03, f"{gain:+.3f} SSIM, target >= +0.03")
        if "out_miou" in best and "out_miou" in hand:
            d = best["out_miou"] - hand["out_miou"]
            _check(lines, "  output-parsing mIoU", d > 0, f"{d:+.3f}, target > 0")
            d = best["wlpips"] - hand["wlpips"]
            _check(lines, "  world-LPIPS", d < 0, f"{d:+.3f}, target < 0")
    if warp:
        gain = best["ssim"] - warp["ssim"]
        _check(lines, "posewarp - bounded per-part warp", gain >= 0.05, f"{gain:+.3f} SSIM, target >= +0.05")
        ratio = best["ghost"] / max(warp["ghost"], 1e-9)
        floor = rows.get("background only (no person)", {}).get("ghost")
        why = f"; the filled background alone: {floor / max(warp['ghost'], 1e-9):.2f}" if floor else ""
        _check(lines, "ghost, posewarp / warp", ratio <= 0.5, f"{ratio:.2f}, target <= 0.5{why}")
    if copy and "ssim_turn" in best and "ssim_turn" in copy:
        gain = best["ssim_turn"] - copy["ssim_turn"]
        _check(lines, "front<->back pairs, posewarp - copy", gain >= 0.05, f"{gain:+.3f} SSIM, target >= +0.05")
    ablations = {k: v for k, v in rows.items() if k.startswith("posewarp,") and not k.startswith("posewarp, +")}
    if ablations:
        worse = [k for k, v in ablations.items()
                 if not (best["ssim"] > v["ssim"] and best.get("wlpips", 0) <= v.get("wlpips", 0))]
        _check(lines, "posewarp above its ablations on SSIM and world-LPIPS", not worse,
               f"{len(ablations) - len(worse)} of {len(ablations)}" + (f"; not: {'; '.join(worse)}" if worse else ""))
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


def plan(world: dict, runs: Path, budget: float, stage1_budget: float, seed: int, only: set[str] | None) -> list[dict]:
    data = world["data"]
    base = {"data.path": str(data), "seed": seed, "vgg_path": world["features"]}
    variants = [v for v in VARIANTS if not only or v[0] in only or v[0] == "paper"]
    parsers = {"paper", "posewarp"} | {parser for _, parser, _ in variants}
    jobs = [{"name": f"stage1 {k}", "stage": 1, "overrides": {**base, **v}, "budget": stage1_budget, "runs": str(runs),
             "desc": f"s{seed}-stage1-" + k.replace(" ", "_"), "data": str(data)} for k, v in STAGE1.items() if k in parsers]
    paper_run = lambda done: done["paper"]["run"] + "/matcher-latest.pt"  # noqa: E731
    for name, parser, overrides in variants:
        job = {"name": name, "stage": 2, "overrides": {**base, **overrides}, "budget": budget, "runs": str(runs),
               "desc": f"s{seed}-" + name.replace(", ", "-").replace(" ", "_").replace("+", ""), "data": str(data),
               "needs": [f"stage1 {parser}"], "parser": parser, "world": world}
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


def by_split(rows: dict, split: str) -> dict:
    """One table's rows: each method's scores on ``split`` with its training steps and CPU seconds."""
    out = {}
    for name, row in rows.items():
        if split in row:
            out[name] = {**row[split], **{k: row[k] for k in ("steps", "cpu_s") if k in row}}
        elif name.startswith("Stage I"):
            out[name] = row
    return out


def main() -> None:
    from posewarp.synth.recipes import RECIPES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="fashion", choices=list(RECIPES), help="the world's recipe")
    ap.add_argument("--size", default="128x64", help="HxW of the world (128x64 or 256x176)")
    ap.add_argument("--identities", type=int, default=40)
    ap.add_argument("--poses", type=int, default=6)
    ap.add_argument("--budget", type=float, default=600.0, help="CPU seconds of training per Stage II model")
    ap.add_argument("--stage1-budget", type=float, default=300.0, help="CPU seconds of training per Stage I model")
    ap.add_argument("--judge-steps", type=int, default=None, help="training steps of the in-tool judge parser")
    ap.add_argument("--jobs", type=int, default=2, help="models trained at once (one thread each)")
    ap.add_argument("--seeds", default="0,1", help="comma-separated training seeds (the world stays seed 0)")
    ap.add_argument("--calibration-rounds", type=int, default=3, help="passes measuring every model's cost per step")
    ap.add_argument("--only", default=None, help="semicolon-separated variant names (the paper's always runs)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the world and the runs here")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    root = args.keep or Path(tempfile.mkdtemp(prefix="posewarp-quality-"))
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    torch.set_num_threads(1)
    world = make_world(root, size, args.identities, args.poses, seed=0, recipe=args.recipe)
    fit_judge(world, **({"steps": args.judge_steps} if args.judge_steps else {}))
    only = {name.strip() for name in args.only.split(";")} if args.only else None
    unknown = (only or set()) - {name for name, _, _ in VARIANTS}
    if unknown:
        ap.error(f"unknown variants: {'; '.join(sorted(unknown))}")
    per_seed = []
    for seed in (int(s) for s in args.seeds.split(",")):
        jobs = plan(world, root / "runs", args.budget, args.stage1_budget, seed, only)
        calibrate(jobs, args.calibration_rounds)
        done = run_jobs(jobs, args.jobs)
        rows = baselines_table(world, done["stage1 posewarp"]["run"], done["paper"]["run"] + "/matcher-latest.pt",
                               done["stage1 paper"]["run"])
        for name, _, _ in VARIANTS:
            if name in done:
                rows[name] = done[name]
        for k in STAGE1:
            if f"stage1 {k}" in done:
                rows[f"Stage I ({k})"] = {key: done[f"stage1 {k}"][key] for key in ("miou", "steps", "cpu_s")}
        per_seed.append(rows)
    tables = {split: {name: _mean([by_split(r, split)[name] for r in per_seed]) for name in by_split(per_seed[0], split)}
              for split in ("val", "test")}
    chosen = max((n for n in tables["val"] if n.startswith(("posewarp", "paper"))), key=lambda n: tables["val"][n]["ssim"])
    doc = {"world": {"recipe": args.recipe, "size": list(size), "identities": args.identities, "poses": args.poses,
                     "seed": 0, "pairs": {s: tables[s]["copy the source"]["pairs"] for s in tables}},
           "budget_cpu_s": args.budget, "seeds": args.seeds, "threads_per_model": 1, "tables": tables,
           "chosen_on_val": chosen, "summary": summary(tables["test"]), "wall_s": time.time() - t0, "root": str(root)}
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    print(f"recipe {args.recipe}: {args.identities} identities x {args.poses} poses at {args.size}; "
          f"{doc['world']['pairs']['val']} validation and {doc['world']['pairs']['test']} test pairs of unseen people; "
          f"every Stage II model {args.budget:.0f} CPU s of training, every Stage I {args.stage1_budget:.0f} (budgets "
          f"from measured costs per step; 'CPU s' is the measured process time; 1 thread each; the paper's matcher "
          f"phase, {C.preset('tiny', 2).matcher.steps} steps, not counted); seeds {args.seeds}")
    for split in ("val", "test"):
        print(f"\n{split} split")
        print_table(tables[split])
    print(f"\nbest learned design on validation: {chosen}")
    print("\n".join(doc["summary"]))
    print(f"wall {doc['wall_s'] / 60:.1f} min; world and runs in {root}")


def _mean(rows: list[dict]) -> dict:
    """Mean over seeds of every number, with the SSIM's spread (sample standard deviation) over seeds."""
    out = {}
    for key, value in rows[0].items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out[key] = value
        else:
            vals = [r[key] for r in rows if key in r]
            out[key] = type(value)(sum(vals) / len(vals)) if isinstance(value, float) else round(sum(vals) / len(vals))
    if len(rows) > 1 and "ssim" in rows[0]:
        out["ssim_seeds"] = [r.get("ssim") for r in rows]
        out["ssim_sd"] = float(np.std(out["ssim_seeds"], ddof=1))
    return out


if __name__ == "__main__":
    main()
