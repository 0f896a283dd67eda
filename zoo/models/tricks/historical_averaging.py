"""Historical averaging (Salimans et al. 2016, sec. 3.3): both players pay
lambda * ||theta - mean of past theta||^2, which damps oscillation around an equilibrium."""

import tensorflow as tf

from zoo.models.tricks import Setting, Trick, register


def penalty(variables, averages) -> tf.Tensor:
    """||theta - mean of past theta||^2 summed over parameters."""
    return tf.add_n([tf.reduce_sum(tf.square(v - a)) for v, a in zip(variables, averages, strict=True)])


def update(variables, averages, count) -> None:
    """Running mean: avg += (theta - avg) / count, with count the number of values seen."""
    for v, a in zip(variables, averages, strict=True):
        a.assign_add((v - a) / tf.cast(count, a.dtype))


@register
class HistoricalAveraging(Trick):
    settings = (
        Setting("historical_averaging", float, 0.0, "weight of the historical-averaging penalty; 0 is off"),
    )

    def build(self, model):
        # Kept on the model (so a resumed run keeps them), in the order older files hold them.
        model.g_history = _running_mean_of(model, model.generator, "g_history")
        model.d_history = _running_mean_of(model, model.discriminator, "d_history")
        model.history_count = model.add_weight(
            shape=(), initializer="ones", dtype="int64", trainable=False, name="history_count"
        )

    def d_regularizer(self, model):
        return self._penalty(model.discriminator.trainable_variables, model.d_history)

    def g_regularizer(self, model, features):
        return self._penalty(model.generator.trainable_variables, model.g_history)

    def after_g_update(self, model):
        model.history_count.assign_add(1)
        update(model.generator.trainable_variables, model.g_history, model.history_count)
        update(model.discriminator.trainable_variables, model.d_history, model.history_count)

    def _penalty(self, variables, averages):
        # A per-replica share of a global scalar: dividing by replicas keeps the sum right.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return self.historical_averaging * penalty(variables, averages) / replicas


def _running_mean_of(model, network, name: str) -> list:
    averages = []
    for i, v in enumerate(network.trainable_variables):
        average = model.add_weight(shape=v.shape, initializer="zeros", trainable=False, name=f"{name}_{i}")
        average.assign(v)
        averages.append(average)
    return averages
