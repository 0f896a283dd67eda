"""Feature matching (Salimans et al. 2016, sec. 3.1): G also pays lambda * ||E f(x) - E f(G(z))||^2,
f being D's `features` layer, a target that does not move as fast as D's verdict."""

import tensorflow as tf

from zoo.models.tricks import Setting, Trick, register


@register
class FeatureMatching(Trick):
    settings = (
        Setting("feature_matching", float, 0.0, "weight of the feature-matching term in G's loss; 0 is off"),
    )
    needs_features = True

    def g_regularizer(self, model, features):
        real_features, fake_features = features
        gap = tf.reduce_mean(real_features, axis=0) - tf.reduce_mean(fake_features, axis=0)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return self.feature_matching * tf.reduce_sum(tf.square(gap)) / replicas
