import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from recipes.cli import main


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "recipes.cli", *args],
        capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})},
    )  # fmt: skip


def one_line_error(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganzoo: error: ") and "\n" not in err, err
    return err


def test_list_names_every_recipe(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "dcgan-fashion-mnist" in out and "(default)" in out and "gan-mlp-mnist" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "nope"], "unknown recipe 'nope'"),
        (["train", "--set", "bogus=1"], "unknown recipe key 'bogus'"),
        (["train", "--set", "g_lr=fast"], "g_lr expects float"),
        (["train", "--epochs", "0"], "must be a positive integer"),
        (["train", "--time-budget", "-5"], "must be positive"),
        (["sample", "/no/such/run", "--out", "x.png"], "run directory /no/such/run does not exist"),
        (["export", "/no/such/run"], "run directory /no/such/run does not exist"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert message in one_line_error(capsys, argv)


def test_run_dir_without_a_model(capsys, tmp_path):
    assert "has no final.keras" in one_line_error(capsys, ["export", str(tmp_path)])


def test_bad_input_from_the_installed_command():
    result = run_cli("train", "no-such-recipe")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()  # nothing but the one line
    assert line.startswith("ganzoo: error: unknown recipe 'no-such-recipe'; available: gan-mlp-mnist, ")


def manifest_lists_judge(run):
    manifest = json.loads((run / "export" / "manifest.json").read_text())
    return "judge.onnx" in manifest["files"] and manifest["judge"]["outputs"][0]["name"] == "p_real"


def test_train_sample_export_end_to_end(tmp_path, fashion_mnist_dir):
    run = tmp_path / "run"
    env = {"TFDS_DATA_DIR": str(fashion_mnist_dir)}
    args = ["train", "--epochs", "2", "--steps-per-epoch", "3", "--batch-size", "16",
            "--set", "g_width=8", "--set", "d_width=8", "--run-dir", str(run)]  # fmt: skip
    result = run_cli(*args, env=env)
    assert result.returncode == 0, result.stderr[-2000:]

    assert json.loads((run / "config.json").read_text())["batch_size"] == 16
    summary = json.loads((run / "summary.json").read_text())
    assert summary["generator_steps"] == 6 and summary["stopped_by"] == "epochs"
    assert list((run / "logs" / "train").glob("events.out.tfevents.*"))
    assert list((run / "logs" / "images").glob("events.out.tfevents.*"))
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "epoch_0001.png",
        "epoch_0002.png",
    ]
    assert (run / "backup" / "training_metadata.json").exists()
    assert (run / "final.keras").exists() and (run / "samples.png").exists()
    manifest = json.loads((run / "export" / "manifest.json").read_text())
    assert manifest["variant"] == "dcgan" and manifest["image_shape"] == [28, 28, 1]

    grid = tmp_path / "grid.png"
    result = run_cli("sample", str(run), "--n", "9", "--out", str(grid))
    assert result.returncode == 0, result.stderr[-2000:]
    assert Image.open(grid).size == (2 * (3 * 30 + 2),) * 2  # 3x3 grid, 2px padding, 2x scale
    array = tmp_path / "samples.npy"
    assert run_cli("sample", str(run), "--n", "5", "--out", str(array)).returncode == 0
    samples = np.load(array)
    assert samples.shape == (5, 28, 28, 1) and samples.min() >= -1 and samples.max() <= 1

    # The run fitted a judge; it scores files and filters samples.
    judge_info = json.loads((run / "judge" / "judge.json").read_text())
    assert judge_info["info"]["source"] == "discriminator" and judge_info["temperature"] > 0
    png = tmp_path / "one.png"
    Image.fromarray(np.uint8((samples[0, ..., 0] + 1) * 127.5)).save(png)
    result = run_cli("judge", str(run), str(array), str(png))
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 6 and all(line.split("\t")[2] in ("accept", "reject") for line in lines)
    assert 0.0 <= float(lines[0].split("\t")[1]) <= 1.0
    big = tmp_path / "big.png"
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(big)
    result = run_cli("judge", str(run), str(big))
    assert (
        result.returncode == 2 and "is 32x32; the judge takes 28x28" in result.stderr.strip().splitlines()[-1]
    )
    assert manifest_lists_judge(run)

    result = run_cli("export", str(run))
    assert result.returncode == 2 and "already exists" in result.stderr
    assert run_cli("export", str(run), "--force").returncode == 0

    # Rerunning with more epochs resumes: 2 more epochs of 3 steps, not 4 from scratch.
    args[2] = "4"
    result = run_cli(*args, "--no-export", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((run / "summary.json").read_text())["generator_steps"] == 12
    assert (run / "samples" / "epoch_0004.png").exists()
