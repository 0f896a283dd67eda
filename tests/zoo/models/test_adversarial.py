import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests import helpers
from zoo.models import losses


def tiny_dcgan(**kwargs):
    return zoo.build("dcgan", image_shape=(28, 28, 1), latent_dim=8, g_width=8, d_width=8,
                     seed=0, **kwargs)  # fmt: skip


def test_discriminator_loss_falls_on_a_fixed_batch():
    helpers.assert_discriminator_learns(helpers.compile_for_test(tiny_dcgan()))


def test_generator_loss_falls_against_a_frozen_discriminator():
    helpers.assert_generator_learns(helpers.compile_for_test(tiny_dcgan()))


@pytest.mark.parametrize("k", [1, 3])
def test_d_steps_performs_k_discriminator_updates_per_generator_update(k):
    model = helpers.compile_for_test(tiny_dcgan(d_steps=k))
    images = helpers.structured_images(4 * k * 8, (28, 28, 1))
    model.fit(images, batch_size=k * 8, epochs=1, verbose=0)  # 4 steps of k minibatches of 8
    assert int(model.g_optimizer.iterations) == 4
    assert int(model.d_optimizer.iterations) == 4 * k


def test_batch_not_divisible_by_d_steps_is_refused():
    model = helpers.compile_for_test(tiny_dcgan(d_steps=3))
    dataset = tf.data.Dataset.from_tensor_slices(helpers.structured_images(8, (28, 28, 1)))
    with pytest.raises(ValueError, match="multiple of 3"):
        model.fit(dataset.batch(8, drop_remainder=True), epochs=1, verbose=0)


def test_fit_reports_every_statistic_with_probabilities_in_range():
    model = helpers.compile_for_test(tiny_dcgan())
    history = model.fit(helpers.structured_images(32, (28, 28, 1)), batch_size=16, verbose=0)
    logs = {k: v[-1] for k, v in history.history.items()}
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"}
    assert 0.0 < logs["d_real"] < 1.0 and 0.0 < logs["d_fake"] < 1.0
    assert logs["d_grad_norm"] > 0 and logs["g_grad_norm"] > 0
    evaluated = model.evaluate(helpers.structured_images(32, (28, 28, 1)), batch_size=16,
                               verbose=0, return_dict=True)  # fmt: skip
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(evaluated)


def test_reported_statistics_match_a_recomputation():
    # With lr = 0 nothing moves, so the step's d_real must equal mean sigmoid(D(x)).
    model = tiny_dcgan()
    model.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0))
    images = helpers.structured_images(16, (28, 28, 1))
    logs = model.train_on_batch(images, return_dict=True)
    expected = float(tf.reduce_mean(tf.sigmoid(model.discriminator(images, training=True))))
    assert logs["d_real"] == pytest.approx(expected, rel=1e-5)


def test_label_smoothing_reaches_the_discriminator_loss():
    real, fake = np.array([[3.0]], np.float32), np.array([[-1.0]], np.float32)
    plain = tiny_dcgan().discriminator_loss(real, fake)
    smooth = tiny_dcgan(label_smoothing=0.1).discriminator_loss(real, fake)
    np.testing.assert_allclose(
        smooth.numpy(), losses.minimax_discriminator_loss(real, fake, smoothing=0.1).numpy()
    )
    assert float(smooth[0]) > float(plain[0])


def test_generator_moves_toward_the_data():
    # Data concentrated at 0.5 in every pixel; a fresh G outputs around 0. Adversarial
    # training alone (fit) must pull G's samples toward 0.5.
    model = zoo.build("gan", image_shape=(2, 2, 1), latent_dim=4, g_width=16, d_width=16,
                      d_dropout=0.0, seed=0)  # fmt: skip
    helpers.compile_for_test(model, lr=2e-3)
    rng = np.random.default_rng(0)
    real = (0.5 + 0.05 * rng.standard_normal((4096, 2, 2, 1))).astype(np.float32)
    before = abs(float(model.generate(512, seed=1).mean()) - 0.5)
    model.fit(real, batch_size=64, epochs=4, verbose=0)
    after = abs(float(model.generate(512, seed=1).mean()) - 0.5)
    assert after < before / 3, (before, after)


def test_keras_round_trip_after_training(tmp_path):
    model = helpers.compile_for_test(tiny_dcgan(d_steps=2, label_smoothing=0.1))
    model.fit(helpers.structured_images(32, (28, 28, 1)), batch_size=16, verbose=0)
    loaded = helpers.assert_saving_round_trip(model, tmp_path)
    assert loaded.d_steps == 2 and loaded.label_smoothing == 0.1 and loaded.latent_dim == 8
    # The loaded model is compiled and keeps training from where it was saved.
    loaded.fit(helpers.structured_images(32, (28, 28, 1)), batch_size=16, verbose=0)
    assert int(loaded.g_optimizer.iterations) == 4


def test_resume_after_interrupted_fit_continues_from_saved_epoch(tmp_path):
    images = helpers.structured_images(64, (28, 28, 1))  # 4 steps per epoch at batch 16

    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if self.model.g_optimizer.iterations.numpy() == 9:  # epoch 2, step 2
                raise RuntimeError("interrupted")

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start_step = int(self.model.g_optimizer.iterations)
            self.epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append(epoch)

    def fit(model, *extra):
        backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
        model.fit(images, batch_size=16, epochs=4, verbose=0, callbacks=[backup, *extra])

    first = helpers.compile_for_test(tiny_dcgan())
    with pytest.raises(RuntimeError, match="interrupted"):
        fit(first, Interrupt())
    saved_after_two_epochs = [v.numpy() for v in first.generator.weights]

    probe = Probe()
    resumed = helpers.compile_for_test(tiny_dcgan())
    fit(resumed, probe)
    assert probe.start_step == 8  # two finished epochs of 4 steps; the third is redone
    assert probe.epochs == [2, 3]
    assert int(resumed.g_optimizer.iterations) == 16  # 4 epochs x 4 steps, none lost or repeated
    assert int(resumed.d_optimizer.iterations) == 16
    # It really restarted from the saved weights, not from scratch.
    assert not np.allclose(saved_after_two_epochs[0], tiny_dcgan().generator.weights[0].numpy())


def test_invalid_arguments():
    with pytest.raises(ValueError, match="d_steps"):
        tiny_dcgan(d_steps=0)
    with pytest.raises(ValueError, match="label_smoothing"):
        tiny_dcgan(label_smoothing=1.5)
    with pytest.raises(ValueError, match="Unknown loss"):
        tiny_dcgan(loss="nope")
