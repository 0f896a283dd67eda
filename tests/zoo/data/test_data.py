import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from zoo import data
from zoo.data import tfds_source
from zoo.errors import ZooError


def test_offline_fashion_mnist_is_the_real_dataset(fashion_mnist_dir):
    builder = data.prepare("fashion_mnist", str(fashion_mnist_dir))
    assert builder.info.splits["train"].num_examples == 60_000
    assert builder.info.splits["test"].num_examples == 10_000
    ds = data.load("fashion_mnist", "test", batch_size=1000, data_dir=str(fashion_mnist_dir),
                   shuffle=False)  # fmt: skip
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
    images, labels = np.concatenate(images), np.concatenate(labels)
    assert images.shape == (10_000, 28, 28, 1) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    assert labels.dtype == np.int32 and set(np.unique(labels)) == set(range(10))
    assert np.all(np.bincount(labels) == 1000)  # the test split is balanced


def test_training_batches_are_shuffled_and_full(fashion_mnist_dir):
    ds = data.load("fashion_mnist", batch_size=128, data_dir=str(fashion_mnist_dir), seed=1)
    assert ds.cardinality().numpy() == 60_000 // 128  # drop_remainder
    first = next(iter(ds))[1].numpy()
    ordered = next(iter(data.load("fashion_mnist", batch_size=128, shuffle=False,
                                  data_dir=str(fashion_mnist_dir))))[1].numpy()  # fmt: skip
    assert not np.array_equal(first, ordered)
    repeated = data.load("fashion_mnist", batch_size=128, repeat=True, data_dir=str(fashion_mnist_dir))
    assert repeated.cardinality().numpy() < 0  # infinite


def test_a_limited_draw_reads_a_tfds_splits_first_images_in_a_seeded_order(fashion_mnist_dir, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(fashion_mnist_dir))
    src = data.source("fashion_mnist")
    stored = np.concatenate([x.numpy() for x, _ in data.load(src, "train", 500, shuffle=False).take(1)])
    images, labels = data.real_images(src, "train", seed=1, limit=500, labels=True)
    assert images.shape == (500, 28, 28, 1)
    key = lambda a: sorted(map(bytes, a.reshape(len(a), -1)))  # noqa: E731  (as a set, duplicates kept)
    assert key(images) == key(stored)  # the split's first 500 as stored, no other image read
    assert not np.array_equal(images, stored)  # in the seed's order
    np.testing.assert_array_equal(images, data.real_images(src, "train", seed=1, limit=500))
    assert np.bincount(labels, minlength=10).min() >= 30  # tfds stored the split shuffled: every class
    whole = data.real_images(src, "test", seed=2)
    beyond = data.real_images(src, "test", seed=2, limit=20_000)  # more than the split has: all of it
    np.testing.assert_array_equal(beyond, whole)


def test_a_limited_draw_from_arrays_is_drawn_from_the_whole_split(tmp_path):
    images = np.broadcast_to(np.arange(50, dtype=np.uint8)[:, None, None, None], (50, 28, 28, 1))
    np.save(tmp_path / "numbered.npy", images)  # each image holds its own index
    drawn = data.real_images(data.source(str(tmp_path / "numbered.npy")), "train", seed=3, limit=10)
    indices = np.rint((drawn[:, 0, 0, 0] + 1) * 127.5).astype(int)
    assert len(set(indices)) == 10 and indices.max() >= 10  # ten images, not the first ten


def test_the_training_stream_deals_every_pass_from_the_seed_so_a_resume_sees_the_same_batches(tmp_path):
    images = np.broadcast_to(np.arange(50, dtype=np.uint8)[:, None, None, None], (50, 28, 28, 1))
    np.save(tmp_path / "numbered.npy", images)  # each image holds its own index
    source = data.source(str(tmp_path / "numbered.npy"))

    def indices(start: int, batches: int, seed: int = 3) -> np.ndarray:
        stream = data.training_stream(source, 8, seed, start=start).take(batches)
        return np.stack([np.rint((x[:, 0, 0, 0].numpy() + 1) * 127.5) for x, _ in stream]).astype(int)

    dealt = indices(0, 18)  # 6 whole batches a pass (50 // 8), 3 passes
    for start in (1, 5, 6, 7, 13):
        np.testing.assert_array_equal(indices(start, 18 - start), dealt[start:])
    passes = dealt.reshape(3, 48)
    assert all(len(set(p)) == 48 for p in passes)  # no image twice within a pass
    assert not np.array_equal(passes[0], passes[1]) and not np.array_equal(passes[1], passes[2])
    assert not np.array_equal(indices(0, 6, seed=4), dealt[:6])
    with pytest.raises(ZooError, match="fewer than one step's 64"):
        data.training_stream(source, 64, 3)


def test_a_modified_source_file_fails_the_checksum(tmp_path, monkeypatch):
    if not (data.DEBIAN_FASHION_MNIST / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    source = tmp_path / "debian"
    shutil.copytree(data.DEBIAN_FASHION_MNIST, source)
    labels = source / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(labels.read_bytes())
    raw[-20] ^= 0xFF
    labels.write_bytes(bytes(raw))
    monkeypatch.setattr(tfds_source, "DEBIAN_FASHION_MNIST", source)
    with pytest.raises(ZooError, match="checksum"):
        data.prepare("fashion_mnist", str(tmp_path / "tfds"))


def test_no_data_and_no_network_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "DEBIAN_FASHION_MNIST", tmp_path / "absent")
    monkeypatch.setenv(data.OFFLINE_ENV, "1")
    with pytest.raises(ZooError, match="apt-get install dataset-fashion-mnist") as error:
        data.load("fashion_mnist", data_dir=str(tmp_path / "tfds"))
    assert "\n" not in str(error.value)


def test_unknown_dataset_and_split(fashion_mnist_dir):
    with pytest.raises(ZooError, match=r"unknown dataset 'imagenet42': not a folder, .* or a tfds dataset"):
        data.load("imagenet42")
    with pytest.raises(ZooError, match="no split 'validation'"):
        data.load("fashion_mnist", "validation", data_dir=str(fashion_mnist_dir))


def test_an_empty_data_dir_setting_means_the_default(monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", "")
    assert data.data_dir() == str(Path.home() / "tensorflow_datasets")
    monkeypatch.setenv("TFDS_DATA_DIR", "/somewhere")
    assert data.data_dir() == "/somewhere"


def test_concurrent_preparations_of_one_dataset_take_turns(tmp_path, monkeypatch):
    """Two runs started together on a fresh machine must not prepare into one folder at once."""
    inside, most_inside = [], []

    def slow_prepare(builder, name, manual_dir):
        inside.append(name)
        most_inside.append(len(inside))
        time.sleep(0.5)
        inside.pop()

    monkeypatch.delenv(data.OFFLINE_ENV, raising=False)  # reach the (stubbed) preparation
    monkeypatch.setattr(tfds_source, "_download_and_prepare", slow_prepare)
    threads = [threading.Thread(target=data.prepare, args=("mnist", str(tmp_path))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most_inside == [1, 1]
