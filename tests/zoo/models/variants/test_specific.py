"""What makes each variant itself, checked against hand-computed values on tiny inputs."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from zoo.models import losses
from zoo.models.adversarial import feed
from zoo.models.tricks import gradient_penalty as gp
from zoo.models.variants.cgan import class_cross_entropy


def test_wgan_clips_every_critic_weight_after_a_step():
    model = helpers.tiny("wgan")
    assert model.weight_clip == 0.01 and model.d_steps == 5 and model.loss == "wasserstein"
    helpers.fit_briefly(model, steps=1)
    for v in model.discriminator.trainable_variables:
        assert np.max(np.abs(v.numpy())) <= 0.01 + 1e-9, v.path
    # ... and the bound is active: Adam pushed weights onto it.
    assert any(np.isclose(np.max(np.abs(v.numpy())), 0.01) for v in model.discriminator.trainable_variables)


def test_gradient_penalty_of_a_linear_critic_is_analytic():
    # D(x) = <w, x> has gradient w everywhere, so the penalty is (||w|| - 1)^2 for any x_hat.
    rng = np.random.default_rng(0)
    w = tf.constant(rng.normal(size=(1, 4, 4, 1)).astype(np.float32))
    real = tf.constant(rng.normal(size=(3, 4, 4, 1)).astype(np.float32))
    fake = tf.constant(rng.normal(size=(3, 4, 4, 1)).astype(np.float32))
    penalty = gp.gradient_penalty(
        lambda x: tf.reduce_sum(w * x, axis=[1, 2, 3]), real, fake, tf.fill([3, 1, 1, 1], 0.3)
    )
    expected = (np.linalg.norm(w.numpy()) - 1.0) ** 2
    np.testing.assert_allclose(penalty.numpy(), [expected] * 3, rtol=1e-5)


def test_gradient_penalty_is_taken_at_the_interpolate():
    # D(x) = ||x||^2 / 2 has gradient x, so the penalty is (||eps x + (1 - eps) f|| - 1)^2.
    real = tf.ones([2, 2, 2, 1]) * 0.5
    fake = -tf.ones([2, 2, 2, 1])
    eps = tf.constant([0.0, 0.75])[:, None, None, None]
    penalty = gp.gradient_penalty(
        lambda x: 0.5 * tf.reduce_sum(x * x, axis=[1, 2, 3]), real, fake, eps
    )
    x_hat = [-1.0, 0.75 * 0.5 + 0.25 * -1.0]  # every pixel of each interpolate
    expected = [(abs(v) * 2.0 - 1.0) ** 2 for v in x_hat]  # ||x_hat|| = |v| * sqrt(4)
    np.testing.assert_allclose(penalty.numpy(), expected, rtol=1e-5)


def test_wgan_gp_uses_the_penalty_with_uniform_weights_and_no_batch_norm(monkeypatch):
    model = helpers.tiny("wgan-gp")
    assert model.gradient_penalty == 10.0 and model.d_steps == 5
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.discriminator.layers)
    # Layer norm as defined for conv layers: each example over all its units (H, W, C).
    (norm,) = [layer for layer in model.discriminator.layers if type(layer).__name__ == "GroupNormalization"]
    x = np.random.default_rng(0).normal(3.0, 2.0, (2, 7, 7, 16)).astype(np.float32) * [[[[1.0]]], [[[5.0]]]]
    y = keras.ops.convert_to_numpy(norm(x))
    np.testing.assert_allclose(y.reshape(2, -1).mean(axis=1), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.reshape(2, -1).std(axis=1), 1.0, atol=1e-3)
    assert np.abs(y[0].mean(axis=(0, 1))).max() > 0.05  # not normalized per position or channel
    # The interpolation weight is drawn uniformly in [0, 1] per example: record what the
    # step draws through the model's own penalty hook.
    drawn = []
    original = gp.gradient_penalty

    def spy(critic, real, fake, epsilon):
        drawn.append(epsilon.numpy().ravel())
        return original(critic, real, fake, epsilon)

    monkeypatch.setattr(gp, "gradient_penalty", spy)
    real, labels = helpers.real_tensors(model, n=256)
    (trick,) = model.tricks
    trick.d_penalty(model, real, real * 0.0, labels)
    eps = drawn[0]
    assert eps.shape == (256,) and eps.min() >= 0.0 and eps.max() <= 1.0
    assert 0.4 < eps.mean() < 0.6 and 0.25 < eps.std() < 0.33  # U(0, 1): mean 1/2, std 0.289


def test_sngan_spectral_norm_keeps_the_largest_singular_value_near_one():
    model = helpers.tiny("sngan")
    assert model.loss == "hinge"
    helpers.fit_briefly(model, steps=20)
    wrapped = [
        layer for layer in model.discriminator.layers if type(layer).__name__ == "SpectralNormalization"
    ]
    assert len(wrapped) >= 3  # every conv and the logit
    for layer in wrapped:  # what each layer computes with: W / sigma(W)
        kernel = layer.normalized_kernel().numpy()
        sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert sigma == pytest.approx(1.0, abs=0.05), layer.name


def test_lsgan_reports_raw_scores_and_uses_least_squares():
    model = helpers.tiny("lsgan")
    real, fake = tf.constant([[0.5]]), tf.constant([[0.25]])
    np.testing.assert_allclose(model.score(real).numpy(), [[0.5]])
    np.testing.assert_allclose(
        model.discriminator_loss(real, fake).numpy(),
        losses.least_squares_discriminator_loss(real, fake).numpy(),
    )


def test_cgan_label_changes_both_networks():
    model = helpers.tiny("cgan")
    z = np.repeat(model.sample_inputs(1)["z"], 2, axis=0)
    images = model.generate(2, inputs={"z": z, "label": np.array([0, 1], np.int32)})
    assert not np.allclose(images[0], images[1])  # same z, other label: another image
    same = tf.constant(np.repeat(images[:1], 2, axis=0))
    logits, _ = model.discriminate(same, tf.constant([0, 1], tf.int32), training=False)
    assert not np.isclose(float(logits[0, 0]), float(logits[1, 0]))


def test_acgan_class_head_learns_the_classes_of_real_images():
    model = helpers.tiny("acgan")
    real, labels = helpers.real_tensors(model, n=64)

    def class_loss():
        _, (class_logits,) = model.discriminate(real, labels, training=False)
        return float(tf.reduce_mean(class_cross_entropy(class_logits, labels)))

    before = class_loss()
    step = tf.function(lambda x, y: model.discriminator_step(x, y))
    for _ in range(40):
        step(real, labels)
    after = class_loss()
    assert before > 1.0 and after < 0.5 * before, (before, after)


@pytest.mark.parametrize("classify_fakes", [True, False])
def test_acgan_class_head_learns_fakes_labels_only_when_asked(classify_fakes):
    """D's class loss on fixed real images and G's samples: the fakes' share of it is in
    D's loss with the paper's setting and absent without it, whatever the fakes are."""
    model = helpers.tiny("acgan", classify_fakes=classify_fakes)
    assert type(model).from_config(model.get_config()).classify_fakes == classify_fakes
    real, labels = helpers.real_tensors(model, n=16)
    g_inputs = model.generator_inputs(16, labels)
    fake = model.generator(feed(model.generator, g_inputs), training=False)
    _, real_extras = model.discriminate(real, labels, training=False)
    _, fake_extras = model.discriminate(fake, labels, training=False)
    wrong = (g_inputs["label"] + 1) % model.num_classes
    other = (fake_extras[0] + 5.0 * tf.one_hot(wrong, model.num_classes),)  # fakes classed as another label
    aux = model.discriminator_aux_loss(real_extras, fake_extras, labels, g_inputs)
    aux_other = model.discriminator_aux_loss(real_extras, other, labels, g_inputs)
    real_only = class_cross_entropy(real_extras[0], labels)
    if classify_fakes:  # then they cost D more
        assert float(tf.reduce_mean(aux_other)) > float(tf.reduce_mean(aux)) + 1.0
    else:
        np.testing.assert_allclose(aux, real_only, rtol=1e-6)
        np.testing.assert_allclose(aux_other, real_only, rtol=1e-6)
    # G still pays for fakes D does not class as their label, either way.
    assert float(tf.reduce_mean(model.generator_aux_loss(other, labels, g_inputs))) > float(
        tf.reduce_mean(model.generator_aux_loss(fake_extras, labels, g_inputs))
    )


def test_infogan_q_loss_falls_and_codes_are_named_inputs():
    model = helpers.tiny("infogan")
    assert [t.name for t in model.generator.inputs] == ["z", "code_cat", "code_cont"]
    assert model.discriminator.output_names == ["logit", "code_cat_logits", "code_cont_mean"]
    g_inputs = model.generator_inputs(64, None)

    def categorical_q_loss():
        fake = model.generator([g_inputs["z"], g_inputs["code_cat"], g_inputs["code_cont"]], training=False)
        _, (cat_logits, _) = model.discriminate(fake, None, training=False)
        return float(tf.reduce_mean(class_cross_entropy(cat_logits, g_inputs["code_cat"])))

    before = categorical_q_loss()
    helpers.fit_briefly(model, steps=60)
    after = categorical_q_loss()
    assert before == pytest.approx(np.log(10), abs=0.5)  # chance: log(10)
    assert after < 0.5 * before, (before, after)
