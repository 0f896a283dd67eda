"""The training benchmark's arithmetic: its per-layer matmul has the layer's FLOPs."""

import sys
from pathlib import Path

import keras
import pytest

import zoo

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
import train_throughput

SHAPES = [("dcgan", (28, 28, 1)), ("dcgan", (32, 32, 3)), ("dcgan", (64, 64, 3)), ("sngan", (28, 28, 1))]


@pytest.mark.parametrize("variant, image_shape", SHAPES)
def test_each_layers_gemm_does_its_forward_arithmetic(variant, image_shape):
    gan = zoo.build(variant, image_shape=image_shape, latent_dim=100)
    layers = [
        layer
        for network in (gan.generator, gan.discriminator)
        for layer in network.layers
        if train_throughput.layer_macs(layer)
    ]
    assert len(layers) >= 5
    for layer in layers:
        m, k, n = train_throughput.gemm_shape(layer, batch=8)
        assert m * k * n == 8 * train_throughput.layer_macs(layer), layer.name
    assert sum(map(train_throughput.layer_macs, gan.generator.layers)) == train_throughput.macs(gan.generator)


def test_the_largest_transposed_convolution_as_a_gemm():
    # G of the default recipe: 7x7x128 -> 14x14x64, kernel 4: each of the 49 input positions
    # times a (128, 16 taps x 64) matrix.
    gan = zoo.build("dcgan", image_shape=(28, 28, 1), latent_dim=100)
    largest = max(gan.generator.layers, key=train_throughput.layer_macs)
    assert isinstance(largest, keras.layers.Conv2DTranspose)
    assert train_throughput.gemm_shape(largest, batch=64) == (64 * 7 * 7, 128, 16 * 64)
