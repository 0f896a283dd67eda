"""tf.distribute: one step on two replicas equals one step on one device with the same batch, and
a mirrored run resumed from a step backup ends as one that never stopped."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


# batch norm, and a resume from a step backup; the gradient penalty
@pytest.mark.parametrize("variant, resume", [("dcgan", True), ("wgan-gp", False)])
def test_mirrored_step_equals_single_device_step(variant, resume):
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "zoo" / "models" / "mirrored_step.py"), variant,
         *(["--resume"] if resume else [])],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["same_start"] == 0.0
    assert report["moved"] > 1e-4  # the step did something
    assert report["weight_diff"] < 1e-5 * max(1.0, report["moved"] * 1e3), report
    for name, value in report["logs_single"].items():  # metrics reduced over both replicas
        assert report["logs_mirrored"][name] == pytest.approx(value, rel=1e-4, abs=1e-6), name
    if not resume:
        return
    # Mirrored, a run interrupted after step 5 goes on from step 4's backup, mid-epoch, and
    # ends as the uninterrupted one: the same step count, the same weights.
    assert report["resumed_from"]["step"] == 4 and report["resumed_from"]["batch"] == 1
    assert report["steps"] == [6, 6] and report["resumed_diff"] < 1e-6, report
