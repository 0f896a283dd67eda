"""The training benchmark's arithmetic: each layer's matmul and the FLOPs of a step."""

import sys
from pathlib import Path

import keras

import zoo
from zoo.models.networks.dcgan import dcgan_discriminator

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
import train_throughput


def test_the_default_networks_arithmetic_by_hand():
    gan = zoo.build("dcgan", image_shape=(28, 28, 1), latent_dim=100, d_width=32)
    g = [train_throughput.layer_macs(layer) for layer in gan.generator.layers]
    d = [train_throughput.layer_macs(layer) for layer in gan.discriminator.layers]
    # Dense 100 -> 7x7x128; 7x7x128 -> 14x14x64 and 14x14x64 -> 28x28x1, 16 taps per input value.
    assert [m for m in g if m] == [100 * 6272, 49 * 128 * 64 * 16, 196 * 64 * 1 * 16]
    # 28x28x1 -> 14x14x32 and 14x14x32 -> 7x7x64, a 4x4 patch per output value; Dense 3136 -> 1.
    assert [m for m in d if m] == [196 * 1 * 32 * 16, 49 * 32 * 64 * 16, 3136]
    assert train_throughput.macs(gan.generator) == sum(g)
    # The README's 85.3 MFLOP per image: D's step (G forward, D forward and backward on real
    # and fake) and G's step (G and D forward and backward).
    flops = train_throughput.step_flops_per_image(gan.generator, gan.discriminator)
    assert round(flops / 1e6, 1) == 85.3


def test_the_largest_transposed_convolution_as_a_gemm():
    # Each of the 49 input positions times a (128, 16 taps x 64) matrix.
    gan = zoo.build("dcgan", image_shape=(28, 28, 1), latent_dim=100)
    largest = max(gan.generator.layers, key=train_throughput.layer_macs)
    assert isinstance(largest, keras.layers.Conv2DTranspose)
    assert train_throughput.gemm_shape(largest, batch=64) == (64 * 7 * 7, 128, 16 * 64)
    assert train_throughput.gemm_shape(gan.generator.layers[-1], batch=64) is None  # tanh


def test_spectral_norm_wrappers_count_as_the_layers_they_wrap():
    wrapped = dcgan_discriminator((32, 32, 3), width=16, spectral_norm=True)
    plain = dcgan_discriminator((32, 32, 3), width=16)
    assert any(isinstance(layer, keras.layers.SpectralNormalization) for layer in wrapped.layers)
    assert train_throughput.macs(wrapped) == train_throughput.macs(plain) > 0

    def shapes(network):
        return [s for s in (train_throughput.gemm_shape(layer, 4) for layer in network.layers) if s]

    assert shapes(wrapped) == shapes(plain)
    assert len(shapes(wrapped)) == 4  # three convolutions and the logit
