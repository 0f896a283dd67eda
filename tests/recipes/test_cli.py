import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from recipes import scale
from recipes.cli import main
from zoo import presets
from zoo.contract import sha256


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
    lines = {line.split()[0]: line for line in out.splitlines()}
    for name in presets.shipped():  # a recipe with a preset shows the figures on its card
        assert "[preset: FD " in lines[name] and " classes" in lines[name]
    assert "[preset" not in lines["gan-mlp-mnist"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "nope"], "unknown recipe 'nope'"),
        (["train", "--set", "bogus=1"], "unknown recipe key 'bogus'"),
        (["train", "--set", "g_lr=fast"], "g_lr expects float"),
        (["train", "--epochs", "0"], "must be a positive integer"),
        (["train", "--time-budget", "-5"], "must be positive"),
        (["sample", "/no/such/run", "--out", "x.png"], "/no/such/run is not a run directory, a preset"),
        (["export", "/no/such/run"], "/no/such/run is not a run directory, a preset folder"),
        (["eval", "no-such-preset"], "no-such-preset is not a run directory, a preset folder or a shipped"),
        (["train", "--from-preset", "no-such-preset"], "no-such-preset is not a run directory"),
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


def test_train_sample_judge_resume_end_to_end(tmp_path, fashion_mnist_dir, monkeypatch, capsys):
    """The command in its own process trains; sampling, judging and resuming run in this one
    (their process start is the first's). A run's export: tests/recipes/test_other_datasets.py."""
    run = tmp_path / "run"
    monkeypatch.setenv("TFDS_DATA_DIR", str(fashion_mnist_dir))  # for the process and this one
    args = ["train", "--epochs", "2", "--steps-per-epoch", "3", "--batch-size", "16",
            "--set", "g_width=8", "--set", "d_width=8", "--run-dir", str(run), "--no-export"]  # fmt: skip
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr[-2000:]

    assert json.loads((run / "config.json").read_text())["batch_size"] == 16
    summary = json.loads((run / "summary.json").read_text())
    assert summary["generator_steps"] == 6 and summary["stopped_by"] == "epochs"
    default = "mixed_bfloat16" if scale.cpu_has_bfloat16() else "float32"  # by CPU, measured
    assert summary["precision"] == default and f"in {default}" in result.stdout
    assert list((run / "logs" / "train").glob("events.out.tfevents.*"))
    assert list((run / "logs" / "images").glob("events.out.tfevents.*"))
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "epoch_0001.png",
        "epoch_0002.png",
    ]
    assert (run / "backup" / "training_metadata.json").exists()
    assert (run / "final.keras").exists() and (run / "samples.png").exists()
    assert not (run / "export").exists()

    grid = tmp_path / "grid.png"
    assert main(["sample", str(run), "--n", "9", "--out", str(grid)]) == 0
    assert Image.open(grid).size == (2 * (3 * 30 + 2),) * 2  # 3x3 grid, 2px padding, 2x scale
    array = tmp_path / "samples.npy"
    assert main(["sample", str(run), "--n", "5", "--out", str(array)]) == 0
    samples = np.load(array)
    assert samples.shape == (5, 28, 28, 1) and samples.min() >= -1 and samples.max() <= 1

    # The run fitted a judge; it scores files and filters samples.
    judge_info = json.loads((run / "judge" / "judge.json").read_text())
    assert judge_info["info"]["source"] == "discriminator" and judge_info["temperature"] > 0
    png = tmp_path / "one.png"
    Image.fromarray(np.uint8((samples[0, ..., 0] + 1) * 127.5)).save(png)
    capsys.readouterr()
    assert main(["judge", str(run), str(array), str(png)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6 and all(line.split("\t")[2] in ("accept", "reject") for line in lines)
    assert 0.0 <= float(lines[0].split("\t")[1]) <= 1.0

    # Rerunning with more epochs resumes: 2 more epochs of 3 steps, not 4 from scratch.
    args[2] = "4"
    assert main(args) == 0
    assert json.loads((run / "summary.json").read_text())["generator_steps"] == 12
    assert (run / "samples" / "epoch_0004.png").exists()


def test_a_run_becomes_a_preset_that_every_command_takes(tmp_path, fashion_mnist_dir, monkeypatch, capsys):
    monkeypatch.setenv("TFDS_DATA_DIR", str(fashion_mnist_dir))
    run, preset = tmp_path / "run", tmp_path / "cgan-tiny"
    tiny = ["--set", "g_width=8", "--set", "d_width=8", "--set", "batch_size=16", "--steps-per-epoch", "3",
            "--set", "critic_images=500"]  # fmt: skip
    argv = ["train", "cgan-fashion-mnist", "--epochs", "1", *tiny, "--run-dir", str(run), "--no-export"]
    assert main(argv) == 0
    capsys.readouterr()

    assert main(["preset", str(run), "--out", str(preset), "--n", "300", "--command", "the test"]) == 0
    assert "saved cgan-tiny" in capsys.readouterr().out
    card = json.loads((preset / "card.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    assert card["recipe"] == "cgan-fashion-mnist" and card["command"] == "the test"
    assert card["training"]["generator_steps"] == summary["generator_steps"] == 3
    assert card["eval"]["n"] == 300 and 0 <= card["eval"]["samples"]["label_accuracy"] <= 1
    assert card["eval"]["classifier_accuracy"] > 0.9 and card["check"]["n"] == 500
    assert card["machine"]["cores"] >= 1 and card["weights_dtype"] == "float16"
    assert "already exists" in one_line_error(capsys, ["preset", str(run), "--out", str(preset)])
    assert "already a preset" in one_line_error(capsys, ["preset", str(preset), "--out", str(tmp_path / "x")])

    grid = tmp_path / "grid.png"
    assert main(["sample", str(preset), "--n", "20", "--out", str(grid)]) == 0
    assert Image.open(grid).size == (2 * (10 * 30 + 2), 2 * (2 * 30 + 2))  # a column per class
    before = sorted(p.name for p in preset.rglob("*"))
    assert main(["eval", str(preset), "--n", "300", "--no-novelty"]) == 0  # novelty: test_novelty.py
    out = capsys.readouterr().out
    assert "label_accuracy" in out and "frechet_distance" in out and "data-copying C_T" not in out
    assert sorted(p.name for p in preset.rglob("*")) == before  # a preset's figures stay on its card
    assert "is a preset; give the export folder" in one_line_error(capsys, ["export", str(preset)])
    old = json.loads((preset / "metadata.json").read_text())
    assert main(["judge", str(preset), "--fit"]) == 0  # refits the preset's judge, rehashes it
    out = capsys.readouterr().out
    assert "class-share" in out and "realism score" in out and "AUC" in out
    info = json.loads((preset / "judge" / "judge.json").read_text())["info"]
    assert -1 <= info["agreement"]["realism_spearman"] <= 1 and info["agreement"]["n"] > 100
    # cgan's D needs labels: its judge is a critic, trained on the recipe's 500 training images
    # against as many samples, calibrated on the whole held-out half (5,000); classed by label,
    # its default is class-share without refinement.
    assert info["source"] == "critic" and info["critic_train_size"] == 1000
    assert info["rule"] == "class-share" and not info.get("refinement")
    meta = json.loads((preset / "metadata.json").read_text())
    assert meta["files"]["judge/judge.json"] == sha256(preset / "judge" / "judge.json")
    assert {k: v for k, v in meta["files"].items() if not k.startswith("judge/")} == {
        k: v for k, v in old["files"].items() if not k.startswith("judge/")
    }
    presets.locate(preset).verify()  # exporting a preset: tests/presets/test_shipped.py, every shipped one

    tuned = tmp_path / "tuned"
    argv = ["train", "cgan-fashion-mnist", "--from-preset", str(preset), "--epochs", "1", *tiny,
            "--set", "judge=none", "--run-dir", str(tuned), "--no-export"]  # fmt: skip
    assert main(argv) == 0
    assert json.loads((tuned / "summary.json").read_text())["from_preset"] == str(preset)
    argv[1], argv[-2] = "acgan-fashion-mnist", str(tmp_path / "other")
    assert "was trained as variant 'cgan'" in one_line_error(capsys, argv)
    assert not (tmp_path / "other").exists()
