"""The shipped demo weights never trained on a person that the demo or the quality benchmark holds out."""

import re
from pathlib import Path

from posewarp.demo import PLANS
from posewarp.synth import identity_splits

SCRIPT = Path(__file__).resolve().parent.parent / "weights" / "make_demo_weights.sh"
BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "quality.py"


def _option(text: str, name: str, default: float = 0.0) -> float:
    found = re.findall(rf"{name}[ =]([0-9.]+)", text)
    return float(found[0]) if found else default


def test_shipped_weights_hold_out_every_test_and_validation_identity():
    script = SCRIPT.read_text()
    ship = {"identities": int(_option(script, "--identities")), "test": _option(script, "--test-fraction", 0.1),
            "val": _option(script, "--val-fraction"), "seed": int(_option(script, "--seed"))}
    trained = {i for i, s in identity_splits(ship["identities"], ship["test"], ship["seed"], ship["val"]).items()
               if s == "train"}
    bench = BENCHMARK.read_text()
    worlds = [(plan.identities, plan.test_fraction, 0.0) for plan in PLANS.values()]
    worlds.append((40, _option(bench, "test_fraction"), _option(bench, "val_fraction")))
    for identities, test, val in worlds:
        held_out = {i for i, s in identity_splits(identities, test, ship["seed"], val).items() if s != "train"}
        assert held_out and not held_out & trained, (identities, test, val, sorted(held_out & trained))
