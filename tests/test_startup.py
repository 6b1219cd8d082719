"""Start-up: what a command imports before it does any work (benchmarks/startup.py measures the seconds)."""

import subprocess
import sys

CHECK = """
import sys
{code}
heavy = [m for m in ("torch", "torch._dynamo", "sympy") if m in sys.modules]
print(",".join(heavy))
"""


def imported(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", CHECK.format(code=code)], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_help_imports_no_torch_and_loading_a_snapshot_no_compiler():
    assert imported("from posewarp.cli.main import app") == []
    # The snapshot check builds the networks on the meta device; ops such as torch.stack there import torch._dynamo
    # (about a second, with sympy) -- the shipped Stage II snapshot must load without it.
    code = "from posewarp.inference import TransferPipeline\nTransferPipeline.load(None, None, device='cpu')"
    assert imported(code) == ["torch"]


def test_inference_and_snapshots_never_import_the_trainer():
    code = """
import sys
import posewarp.inference, posewarp.snapshots, posewarp.transfer
print(",".join(m for m in sys.modules if m.startswith("posewarp.training")))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
