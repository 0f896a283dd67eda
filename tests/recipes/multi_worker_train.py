"""One worker of a localhost cluster, run in its own process:

    multi_worker_train.py INDEX PORT,PORT,... WEIGHTS_OUT -- ganzoo train arguments...

Sets TF_CONFIG for worker INDEX as TensorFlow documents it, runs `ganzoo train` with
the arguments given (plus `--strategy multi-worker`), and copies the final model this
worker saved (the chief into the run directory, the others into their scratch
directory) to WEIGHTS_OUT, so a test can compare the workers' weights.
"""

import json
import os
import shutil
import sys

index, ports, weights_out = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
arguments = sys.argv[sys.argv.index("--") + 1 :]
os.environ["TF_CONFIG"] = json.dumps(
    {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
)

from recipes import cli, trainer  # noqa: E402

save_keras = trainer.save_keras


def save_and_copy(model, path):
    saved = save_keras(model, path)
    shutil.copyfile(saved, weights_out)
    return saved


trainer.save_keras = save_and_copy
sys.exit(cli.main(["train", *arguments, "--strategy", "multi-worker"]))
