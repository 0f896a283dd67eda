"""The stabilizing tricks: each a component any variant can turn on, checked on tiny inputs."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from zoo.models.adversarial import feed
from zoo.models.layers import MinibatchDiscrimination
from zoo.models.tricks import diff_augment, feature_matching, historical_averaging, r1


def test_minibatch_discrimination_closed_form_and_batch_dependence():
    layer = MinibatchDiscrimination(num_kernels=3, kernel_dim=2)
    same = np.ones((4, 5), np.float32)
    out = layer(same).numpy()
    assert out.shape == (4, 8)
    # Identical examples: every other example is at distance 0, exp(0) = 1, so each
    # closeness feature is B - 1.
    np.testing.assert_allclose(out[:, 5:], 3.0, rtol=1e-6)
    other = same.copy()
    other[1] += 5.0
    assert not np.allclose(layer(other).numpy()[0, 5:], out[0, 5:])  # example 0 sees example 1
    np.testing.assert_array_equal(layer(other).numpy()[0, :5], same[0])  # features pass through


def test_minibatch_discrimination_in_d_round_trips(tmp_path):
    model = helpers.fit_briefly(helpers.tiny("dcgan", minibatch_discrimination=4))
    assert any(isinstance(x, MinibatchDiscrimination) for x in model.discriminator.layers)
    helpers.assert_saving_round_trip(model, tmp_path)


def test_r1_penalty_is_the_squared_gradient_norm():
    # D(x) = ||x||^2 / 2 has gradient x: R1 = ||x||^2 per example.
    x = tf.constant(np.random.default_rng(0).normal(size=(3, 2, 2, 1)).astype(np.float32))
    penalty = r1.squared_gradient_norm(lambda v: 0.5 * tf.reduce_sum(v * v, axis=[1, 2, 3]), x)
    np.testing.assert_allclose(penalty.numpy(), np.sum(x.numpy() ** 2, axis=(1, 2, 3)), rtol=1e-5)


def test_r1_adds_half_gamma_times_the_penalty_to_d():
    model = helpers.tiny("dcgan", r1_gamma=2.0)
    real, labels = helpers.real_tensors(model, n=8)
    critic = lambda x: model.discriminate(x, labels, training=True)[0]  # noqa: E731
    (trick,) = model.tricks
    np.testing.assert_allclose(
        trick.d_penalty(model, real, real, labels).numpy(),
        (0.5 * 2.0 * r1.squared_gradient_norm(critic, real)).numpy(),
        rtol=1e-5,
    )


def test_ema_follows_its_formula_and_is_what_users_sample():
    model = helpers.tiny("dcgan", ema_decay=0.5)
    start = [v.numpy() for v in model.generator.weights]
    for e, w in zip(model.generator_ema.weights, start, strict=True):
        np.testing.assert_array_equal(e.numpy(), w)  # starts as a copy of G
    assert model.generator_ema.trainable_variables == []  # no optimizer ever touches it
    helpers.fit_briefly(model, steps=1)
    # After G's first update: decay = min(0.5, (1 + 1) / (10 + 1)) = 2/11.
    decay = 2 / 11
    for e, w0, w1 in zip(model.generator_ema.weights, start, model.generator.weights, strict=True):
        expected = decay * w0 + (1 - decay) * w1.numpy() if w1.trainable else w1.numpy()
        np.testing.assert_allclose(e.numpy(), expected, rtol=1e-5, atol=1e-7)
    z = model.sample_inputs(4)
    ema_images = model.generator_ema(feed(model.generator_ema, z), training=False).numpy()
    np.testing.assert_allclose(model.generate(4), ema_images, atol=1e-6)
    assert not np.allclose(model.generate(4), model.generator(z["z"], training=False).numpy())


def test_historical_average_is_the_mean_of_past_weights():
    model = helpers.tiny("dcgan", historical_averaging=1e-3)
    seen = [[v.numpy() for v in model.discriminator.trainable_variables]]
    real, _ = helpers.real_batch(model, n=16)
    for _ in range(3):
        model.train_on_batch(real)
        seen.append([v.numpy() for v in model.discriminator.trainable_variables])
    assert int(model.history_count.numpy()) == 4
    for i, average in enumerate(model.d_history):
        np.testing.assert_allclose(
            average.numpy(), np.mean([s[i] for s in seen], axis=0), rtol=1e-5, atol=1e-7
        )


def test_historical_averaging_penalty_formula():
    v = [tf.Variable([1.0, 2.0]), tf.Variable([[3.0]])]
    a = [tf.Variable([0.0, 0.0]), tf.Variable([[1.0]])]
    assert float(historical_averaging.penalty(v, a)) == pytest.approx(1 + 4 + 4)


def test_feature_matching_term_is_the_gap_of_mean_features():
    model = helpers.tiny("dcgan", feature_matching=3.0)
    real, labels = helpers.real_tensors(model, n=8)
    fake = model.generator(model.generator_inputs(8, None)["z"], training=True)
    _, _, features = model._discriminate_fakes(real, fake, labels)
    (trick,) = model.tricks
    assert isinstance(trick, feature_matching.FeatureMatching)
    matching = trick.g_regularizer(model, features)
    features = keras.Model(model.discriminator.inputs, model.discriminator.get_layer("features").output)
    gap = features(real, training=True).numpy().mean(0) - features(fake, training=True).numpy().mean(0)
    assert float(matching) == pytest.approx(3.0 * np.sum(gap**2), rel=1e-4)
    helpers.fit_briefly(model)  # trains end to end with the term on


def test_diff_augment_color_is_an_affine_map_per_image():
    x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (3, 6, 6, 1)).astype(np.float32))
    y = diff_augment.diff_augment(x, ("color",), keras.random.SeedGenerator(1)).numpy()
    for xi, yi in zip(x.numpy(), y, strict=True):
        slope, intercept = np.polyfit(xi.ravel(), yi.ravel(), 1)
        np.testing.assert_allclose(yi, slope * xi + intercept, atol=1e-5)


def test_diff_augment_translation_shifts_with_zero_fill():
    x = np.random.default_rng(0).uniform(0.1, 1, (8, 8, 8, 1)).astype(np.float32)
    y = diff_augment.diff_augment(tf.constant(x), ("translation",), keras.random.SeedGenerator(2)).numpy()
    shifts = []
    for xi, yi in zip(x, y, strict=True):
        matches = []
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                padded = np.pad(xi, ((1, 1), (1, 1), (0, 0)))
                if np.allclose(yi, padded[1 + dy : 9 + dy, 1 + dx : 9 + dx]):
                    matches.append((dy, dx))
        assert matches, "not a shift of at most 1/8 of the side"
        shifts += matches
    assert len(set(shifts)) > 1  # each image gets its own shift


def test_diff_augment_cutout_zeroes_one_rectangle_and_keeps_the_rest():
    x = np.random.default_rng(0).uniform(0.1, 1, (6, 8, 8, 1)).astype(np.float32)
    y = diff_augment.diff_augment(tf.constant(x), ("cutout",), keras.random.SeedGenerator(3)).numpy()
    for xi, yi in zip(x, y, strict=True):
        zeroed = yi == 0
        np.testing.assert_array_equal(yi[~zeroed], xi[~zeroed])
        rows, cols = np.nonzero(zeroed[..., 0])
        assert 0 < zeroed.sum() <= 16  # at most a 4x4 square (half the side), clipped at edges
        assert zeroed[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()  # a rectangle


def test_diff_augment_lets_gradients_through_and_rejects_unknown_policies():
    x = tf.Variable(np.random.default_rng(0).uniform(-1, 1, (2, 8, 8, 1)).astype(np.float32))
    with tf.GradientTape() as tape:
        y = diff_augment.diff_augment(
            x, diff_augment.parse_policy("color,translation,cutout"), keras.random.SeedGenerator(0)
        )
        total = tf.reduce_sum(y)
    assert float(tf.reduce_sum(tf.abs(tape.gradient(total, x)))) > 0
    with pytest.raises(ValueError, match="Unknown DiffAugment policy"):
        diff_augment.parse_policy("color,rotate")


def test_diff_augment_trains_and_stays_out_of_the_exported_d(tmp_path):
    model = helpers.fit_briefly(helpers.tiny("dcgan", diff_augment="color,translation,cutout"))
    written = helpers.assert_export_parity(model, tmp_path)  # D exported as it judges, no augmentation
    assert written["discriminator"]["inputs"][0]["name"] == "image"


def test_instance_noise_anneals_linearly():
    model = helpers.tiny("dcgan", instance_noise=0.5, instance_noise_decay_steps=100)
    zeros = tf.zeros([64, 28, 28, 1])
    assert float(tf.math.reduce_std(model.discriminator_view(zeros))) == pytest.approx(0.5, rel=0.02)
    model.g_optimizer.iterations.assign(50)
    assert float(tf.math.reduce_std(model.discriminator_view(zeros))) == pytest.approx(0.25, rel=0.02)
    model.g_optimizer.iterations.assign(150)
    assert float(tf.math.reduce_std(model.discriminator_view(zeros))) == 0.0


def test_stateful_tricks_survive_a_keras_round_trip(tmp_path):
    model = helpers.fit_briefly(helpers.tiny("dcgan", ema_decay=0.9, historical_averaging=1e-3))
    loaded = helpers.assert_saving_round_trip(model, tmp_path)  # compares every weight
    assert int(loaded.history_count.numpy()) == int(model.history_count.numpy()) == 3
    np.testing.assert_array_equal(loaded.generate(4), model.generate(4))  # the EMA generator
