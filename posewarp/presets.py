"""The training presets: one row a preset, the same keys in every row, so that a reader compares them at a glance
(EDM2's ``config_presets``). ``config.preset(name, stage)`` turns a row into a ``TrainConfig``; every option a row
does not name keeps ``TrainConfig``'s default (the paper's Adam betas and schedule, the matcher's lr, ...).

Plain data, no imports: ``config`` builds configs from it and ``config_ranges`` takes the names from it.

  pack      the pack image size (H, W) for which this preset is chosen when none is named (None: never so)
  design    the networks (``config.DESIGNS``): posewarp's, or the paper's
  size      (ngf, n_downsample, n_blocks, ndf, d_layers) of the generators and discriminators
  matcher   the geometric matcher's (features, first layer width, correlation size; None: the features' own)
  vgg       the perceptual loss: (trunk, loss weight)
  ssim      the weight of the structural term, 1 - SSIM (0: none)
  batch     the global batch of (Stage I, Stage II)
  workers   DataLoader worker processes
  steps     (max_steps, matcher phase steps)
  lr        Adam learning rate
  every     (log, sample, validation, snapshot) intervals in steps
  val       validation batches (0: the whole test split)

The rows' reasons:
  tiny        trains on a CPU in minutes at 128x64 (the demo, the shipped demo weights and the synthetic
              benchmarks). No perceptual loss: without ImageNet weights offline it could only use a random VGG19,
              which cost two thirds of every step for no measured gain (benchmarks/quality.py); ``--design
              paper`` puts it back with the paper's networks. The SSIM term: +0.018 SSIM on the fashion world's
              validation split at the same CPU budget (with the refiner, +0.029), one seed, 2026-12-06.
              market and deepfashion leave it out until it is measured on real photos.
  market      Market-1501 at 128x64 on one GPU: posewarp's networks with the paper's losses, a lighter generator
              (2 downsamples to 32x16).
  deepfashion DeepFashion at 256x176: posewarp's networks at the authors' sizes, the paper's losses, a single-GPU
              batch.
  paper       the authors' run (reference/paper.md 1.2): Stage I batch 50, Stage II batch 12 (both over 2 GPUs);
              Stage II 100 + 100 "epochs" of 5000 iterations (constant, then linear decay).
"""

PRESETS: dict[str, dict] = {
    "tiny": dict(
        pack=None, design="posewarp", size=(16, 2, 2, 16, 2), matcher=("small", 16, 10), vgg=("random", 0.0), ssim=10.0,
        batch=(8, 8), workers=0, steps=(600, 300), lr=1e-3, every=(20, 200, 200, 200), val=8),
    "market-128x64": dict(
        pack=(128, 64), design="posewarp", size=(64, 2, 6, 64, 3), matcher=("vgg16", 32, None), vgg=("pretrained", 10.0), ssim=0.0,
        batch=(32, 32), workers=4, steps=(100_000, 20_000), lr=2e-4, every=(50, 1000, 1000, 5000), val=20),
    "deepfashion-256x176": dict(
        pack=(256, 176), design="posewarp", size=(64, 3, 9, 64, 3), matcher=("vgg16", 32, None), vgg=("pretrained", 10.0), ssim=0.0,
        batch=(8, 8), workers=4, steps=(200_000, 20_000), lr=2e-4, every=(50, 1000, 1000, 5000), val=20),
    "paper": dict(
        pack=None, design="paper", size=(64, 3, 9, 64, 3), matcher=("vgg16", 32, None), vgg=("pretrained", 10.0), ssim=0.0,
        batch=(50, 12), workers=4, steps=(1_000_000, 20_000), lr=2e-4, every=(50, 1000, 1000, 5000), val=20),
}  # fmt: skip

DEFAULT_PRESET = "paper"  # when neither the CLI, a config file nor the pack's image size names one
