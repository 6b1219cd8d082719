"""posewarp: the Soft-Gated Warping-GAN (Dong et al., NeurIPS 2018) end to end."""

__version__ = "0.1.0"
