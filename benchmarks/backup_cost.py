"""What step backups cost: the default recipe trained with a backup every N steps against the
same training with none, alternating in this process over several repeats.

Prints each run's images/s, the median ratio (with backups / without), the median time of
one backup and its size, and the share of training time that N steps' backups take.

    .venv/bin/python benchmarks/backup_cost.py [--every 500] [--steps 1000] [--repeats 3]
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import recipes
from recipes import scale
from recipes.run_options import RunOptions, resolve
from recipes.trainer import build_model
from zoo import data
from zoo.training import backups, callbacks


class TimedBackups(backups.BackupAndRestore):
    """The run's backup callback, timing each save."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seconds: list[float] = []

    def _save(self):
        start = time.perf_counter()
        saved = self.saved_step
        super()._save()
        if self.saved_step != saved:
            self.seconds.append(time.perf_counter() - start)


def train(recipe, source, steps: int, every: int | None) -> tuple[float, list[float], int, int]:
    """images/s of `steps` steps, the seconds of each backup, the size of one in bytes, and
    the images of one step."""
    with tempfile.TemporaryDirectory() as folder:
        model = build_model(recipe, source.spec)
        per_step = model.images_per_step(recipe.batch_size)
        throughput = callbacks.Throughput(per_step)
        used = [throughput]
        if every is not None:
            backup = TimedBackups(Path(folder) / "backup", every=every)
            used.append(backup)
        stream = data.training_stream(source, per_step, recipe.seed)
        model.fit(stream, epochs=1, steps_per_epoch=steps, callbacks=used, verbose=0)
        if every is None:
            return throughput.images_per_second, [], 0, per_step
        size = sum(p.stat().st_size for p in (Path(folder) / "backup").glob("*.weights.h5"))
        return throughput.images_per_second, backup.seconds, size, per_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default=recipes.DEFAULT_RECIPE)
    parser.add_argument("--every", type=int, default=None, help="default: the recipe's backup_every")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    recipe = recipes.get(args.recipe)
    every = args.every or recipe.backup_every
    resolved = resolve(RunOptions(), recipe)
    source = data.source_of(recipe).prepare()
    print(f"{recipe.name}, {resolved.policy}, {os.sched_getaffinity(0).__len__()} core(s); "
          f"{args.steps} steps a run, a backup every {every} steps against none")  # fmt: skip
    ratios, saves, size = [], [], 0
    with scale.Precision(resolved.policy):
        train(recipe, source, 20, None)  # warm-up: the data in memory, the functions traced
        for repeat in range(args.repeats):
            without, _, _, per_step = train(recipe, source, args.steps, None)
            with_backups, seconds, size, _ = train(recipe, source, args.steps, every)
            ratios.append(with_backups / without)
            saves += seconds
            print(f"repeat {repeat + 1}: {without:8.1f} images/s without, {with_backups:8.1f} with "
                  f"({len(seconds)} backups), ratio {ratios[-1]:.3f}")  # fmt: skip
    save = statistics.median(saves)
    step = per_step / without  # seconds a step, from the last run without backups
    print(f"median ratio with/without: {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f})")  # fmt: skip
    print(f"one backup: median {save * 1000:.0f} ms, {size / 1e6:.1f} MB; a step: {step * 1000:.1f} ms; "
          f"a backup every {every} steps takes {save / (every * step + save):.2%} of the time")  # fmt: skip


if __name__ == "__main__":
    main()
