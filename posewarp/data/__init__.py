"""Packed pair datasets: the versioned HDF5 schema, ``pack``, ``PairDataset`` and ``info``."""

from posewarp.data.dataset import PairDataset, add_maps, splits
from posewarp.data.info import describe, preview
from posewarp.data.packer import pack
from posewarp.data.report import PackReport
from posewarp.data.schema import SCHEMA_VERSION

__all__ = ["PairDataset", "PackReport", "SCHEMA_VERSION", "add_maps", "describe", "pack", "preview", "splits"]
