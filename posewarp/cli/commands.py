"""Imports every command module so that each registers itself on the root app."""

# One line per command module, in help-panel order (Preprocessing, Data, Training, Inference & evaluation).
from posewarp.cli import (
    demo,  # noqa: F401
    eval,  # noqa: F401
    info,  # noqa: F401
    keypoints,  # noqa: F401
    pack,  # noqa: F401
    parse,  # noqa: F401
    prepare,  # noqa: F401
    synth,  # noqa: F401
    train,  # noqa: F401
    transfer,  # noqa: F401
    weights,  # noqa: F401
)
