"""`ganzoo train` that kills itself with SIGKILL right after a given step, as a crash would:

    kill_at_step.py STEP -- ganzoo train arguments...

The kill comes after that step's backup, if the step has one, is complete.
"""

import os
import signal
import sys

from recipes import cli
from zoo.training import backups

kill_after, arguments = int(sys.argv[1]), sys.argv[sys.argv.index("--") + 1 :]
save_and_go_on = backups.BackupAndRestore.on_train_batch_end


def on_train_batch_end(self, batch, logs=None):
    save_and_go_on(self, batch, logs)
    if self._step == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)


backups.BackupAndRestore.on_train_batch_end = on_train_batch_end
sys.exit(cli.main(["train", *arguments]))
