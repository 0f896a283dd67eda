"""Keras `fit` under MultiWorkerMirroredStrategy, which worker writes, and which one was lost.

Keras' `fit` fails twice under this strategy on this stack (keras-team/keras#20585):
its `_maybe_symbolic_build` reduces the first distributed batch with `strategy.reduce`,
which fails for a batch of several tensors such as (images, labels); and its train and
test functions reduce each step's results through `reduce_per_replica(..., "auto")`,
which under multi-worker collectives calls `strategy.reduce("MEAN", value, axis=0)` on
scalar metrics ("Invalid reduction dimension 0"). `AdversarialModel` is built when
constructed, so it skips the first; for the second it builds its train and test
functions here, in the shape of Keras' own (one step through `strategy.run`,
`steps_per_execution` steps per call inside one tf.function), with each result averaged
over all replicas. `benchmarks/multi_worker.py` shows whether a plain Keras model
trains: once it does, remove this workaround.

The averaged metrics are the same on every worker, so callbacks that act on them (the
health monitor stopping on NaN) decide alike; decisions from anything else, such as
wall time, go through `any_worker`.
"""

import shutil
import socket
import tempfile
from pathlib import Path

import tensorflow as tf

from zoo.errors import LostWorker


def in_use(strategy: tf.distribute.Strategy) -> bool:
    """Whether `strategy` spans several workers (the case Keras' functions fail in)."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(
        strategy.extended._in_multi_worker_mode()
    )


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """The worker that writes the run: the chief if TF_CONFIG names one, else worker 0."""
    if not in_use(strategy):
        return True
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief


def worker_count(strategy: tf.distribute.Strategy) -> int:
    """Workers (chief included) that train together; 1 on one machine."""
    if not in_use(strategy):
        return 1
    return sum(len(tasks) for tasks in strategy.cluster_resolver.cluster_spec().as_dict().values())


def worker_name(strategy: tf.distribute.Strategy) -> str:
    """E.g. 'worker 1 of 2'; '' on one machine."""
    if not in_use(strategy):
        return ""
    resolver = strategy.cluster_resolver
    return f"{resolver.task_type} {resolver.task_id} of {worker_count(strategy)}"


def lost_worker(strategy: tf.distribute.Strategy, error: Exception, backup_step: int | None,
                backup_dir: Path) -> LostWorker | None:  # fmt: skip
    """What a survivor says when training failed because another worker vanished (its
    collectives abort with a TensorFlow error): which one, the last backup, what to do.
    None when every other worker still answers (then `error` is not about a lost worker)."""
    if not in_use(strategy) or not isinstance(error, tf.errors.OpError):
        return None
    gone = _unreachable_workers(strategy)
    if not gone:
        return None
    names = ", ".join(f"{name} ({address})" for name, address in gone)
    backup = (f"the last backup is of step {backup_step} in {backup_dir}" if backup_step
              else "no backup was made yet")  # fmt: skip
    return LostWorker(f"lost {names} of {worker_count(strategy)}, so {worker_name(strategy)} stopped; "
                      f"{backup}; relaunch every worker with the same command to go on from it")  # fmt: skip


def _unreachable_workers(strategy) -> list[tuple[str, str]]:
    """(name, address) of the other workers that no longer accept a connection."""
    resolver = strategy.cluster_resolver
    gone = []
    for task_type, addresses in resolver.cluster_spec().as_dict().items():
        tasks = addresses.items() if isinstance(addresses, dict) else enumerate(addresses)
        for task_id, address in tasks:
            if (task_type, task_id) == (resolver.task_type, resolver.task_id):
                continue
            host, _, port = address.rpartition(":")
            try:
                socket.create_connection((host, int(port)), timeout=2).close()
            except (OSError, ValueError):
                gone.append((f"{task_type} {task_id}", address))
    return gone


def scratch_dir(strategy: tf.distribute.Strategy, run_dir: Path) -> Path:
    """Where this worker writes: `run_dir` on the chief, a temporary directory elsewhere.

    The other workers still save (their saves may take part in collectives), to a
    directory that `discard` removes, as TensorFlow's multi-worker guide describes.
    """
    if is_chief(strategy):
        return run_dir
    return Path(tempfile.mkdtemp(prefix=f"ganzoo-{worker_name(strategy).replace(' ', '-')}-"))


def discard(strategy: tf.distribute.Strategy, directory: Path, run_dir: Path) -> None:
    """Removes a non-chief worker's scratch directory (never the run directory)."""
    if Path(directory).resolve() != Path(run_dir).resolve() and not is_chief(strategy):
        shutil.rmtree(directory, ignore_errors=True)


def any_worker(strategy: tf.distribute.Strategy, flag: bool) -> bool:
    """True on every worker if `flag` is True on any: a decision all workers take together."""
    if not in_use(strategy):
        return bool(flag)
    return bool(_any_replica(strategy, tf.constant(1.0 if flag else 0.0)).numpy() > 0)


_ANY = {}


def _any_replica(strategy, value):
    """The sum of `value` over all replicas (ReduceOp has no MAX), reduced as the train
    function reduces its metrics."""
    fn = _ANY.get(id(strategy))
    if fn is None:

        @tf.function
        def fn(v):
            per_replica = strategy.run(tf.identity, args=(v,))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

        _ANY[id(strategy)] = fn
    return fn(value)


def make_function(model, step_function):
    """A train or test function for `fit`/`evaluate` (Keras' contract: called with the
    distributed iterator, runs `model.steps_per_execution` steps, returns the last
    step's logs, a dict of scalars, averaged over all replicas; raises at the end of the
    data)."""
    strategy = model.distribute_strategy

    def one_step(data):
        names = []

        def replica_step(data):
            # One collective for all the step's scalars: each costs a round trip between workers.
            outputs = step_function(data)
            names[:] = sorted(outputs)
            return tf.stack([tf.cast(outputs[k], tf.float32) for k in names])

        means = strategy.reduce(
            tf.distribute.ReduceOp.MEAN, strategy.run(replica_step, args=(data,)), axis=None
        )
        return {k: means[i] for i, k in enumerate(names)}

    def steps(iterator):
        outputs = one_step(next(iterator))  # past the data's end: OutOfRangeError, which fit catches
        for _ in tf.range(model.steps_per_execution - 1):
            following = iterator.get_next_as_optional()
            if not following.has_value():
                break
            outputs = one_step(following.get_value())
        return outputs

    if model.run_eagerly:
        return lambda iterator: _eager_steps(one_step, iterator, model.steps_per_execution)
    if model.jit_compile:
        one_step = tf.function(one_step, reduce_retracing=True, jit_compile=True)
    return tf.function(steps, reduce_retracing=True)


def _eager_steps(one_step, iterator, count):
    outputs = None
    for _, data in zip(range(count), iterator, strict=False):
        outputs = one_step(data)
    if outputs is None:
        raise StopIteration
    return outputs
