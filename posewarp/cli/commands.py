"""Imports every command module so that each registers itself on the root app."""

# One line per command module, in help-panel order (Preprocessing, Data, Training, Inference & evaluation).
from posewarp.cli import keypoints  # noqa: F401
from posewarp.cli import parse  # noqa: F401
from posewarp.cli import weights  # noqa: F401
from posewarp.cli import synth  # noqa: F401
from posewarp.cli import prepare  # noqa: F401
from posewarp.cli import pack  # noqa: F401
from posewarp.cli import info  # noqa: F401
from posewarp.cli import train  # noqa: F401
from posewarp.cli import transfer  # noqa: F401
from posewarp.cli import eval  # noqa: F401
from posewarp.cli import demo  # noqa: F401
