"""Networks of both stages: parsing generator, geometric matcher, warping generator, discriminators, VGG taps.

Importing this package imports torch; the CLI imports it lazily inside commands.
"""

from posewarp.nn import grids
from posewarp.nn.discriminator import PatchDiscriminator
from posewarp.nn.geometric_matcher import GeometricMatcher
from posewarp.nn.parsing_generator import ParsingGenerator
from posewarp.nn.soft_gated_warp import SoftGatedWarpBlock
from posewarp.nn.vgg import VGGFeatures
from posewarp.nn.warping_generator import WarpingGenerator

__all__ = [
    "GeometricMatcher", "ParsingGenerator", "PatchDiscriminator", "SoftGatedWarpBlock", "VGGFeatures",
    "WarpingGenerator", "grids",
]
