import dataclasses
import json

import recipes
from recipes import scale, trainer
from recipes.run_options import RunOptions, resolve
from zoo.presets import locate


def test_time_budget_stops_after_the_crossing_step(tmp_path, fashion_mnist_dir, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(fashion_mnist_dir))
    # The run records the code it started from: files edited while it trains must not count.
    started = []
    real_train = trainer._train
    monkeypatch.setattr(trainer, "_train", lambda *args: started.append(1) or real_train(*args))
    monkeypatch.setattr(trainer, "provenance", lambda: {"commit": "after" if started else "before"})
    recipe = dataclasses.replace(
        recipes.get("gan-mlp-fashion-mnist"), g_width=8, d_width=8, batch_size=16, epochs=5,
        steps_per_epoch=50, judge="none",
    )  # fmt: skip
    summary = recipes.run(recipe, tmp_path, time_budget=1e-6, export=False, verbose=0)
    assert summary["stopped_by"] == "time_budget"
    assert summary["generator_steps"] == 1  # the first step already crosses the budget
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert summary["commit"] == "before"
    assert (tmp_path / "samples" / "epoch_0001.png").exists()
    assert (tmp_path / "samples.png").exists()
    model = locate(tmp_path).model()
    assert int(model.g_optimizer.iterations) == 1


def test_precision_defaults_to_bfloat16_on_cpus_that_have_it(tmp_path, fashion_mnist_dir, monkeypatch):
    """Decided by the CPU unless asked (the order of the decision: tests/recipes/test_run_options.py);
    a run trains in the precision decided and records it."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(fashion_mnist_dir))
    recipe = dataclasses.replace(
        recipes.get("dcgan-fashion-mnist"), g_width=8, d_width=8, batch_size=16, epochs=1, steps_per_epoch=1,
        judge="none",
    )  # fmt: skip
    decided = {}
    for has_bfloat16, asked in [(True, None), (False, None), (True, False)]:
        monkeypatch.setattr(scale, "cpu_has_bfloat16", lambda has=has_bfloat16: has)
        decided[has_bfloat16, asked] = resolve(RunOptions(mixed_precision=asked), recipe).policy
    assert decided == {(True, None): "mixed_bfloat16", (False, None): "float32", (True, False): "float32"}
    monkeypatch.setattr(scale, "cpu_has_bfloat16", lambda: True)
    summary = recipes.run(recipe, tmp_path, export=False, verbose=0)
    assert summary["precision"] == "mixed_bfloat16"
    assert locate(tmp_path).model().generator.dtype_policy.name == "float32"  # saved for any precision
