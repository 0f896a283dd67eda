import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from recipes.quiet_tensorflow import import_tensorflow_quietly

import_tensorflow_quietly()  # its load-time log lines would follow a parallel run's summary

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from zoo import data  # noqa: E402

# The test files that take longest (summed per file from a --junitxml report), slowest first: each
# test process takes a whole file (--dist loadfile), so sending these out first lets the two
# finish together instead of one running a long file alone at the end. The Makefile turns
# off xdist's own order (files with more tests first) with --no-loadscope-reorder. Each
# process starts with a file that needs no dataset; the first to need Fashion-MNIST prepares
# it for both (_shared_dir).
SLOWEST_FIRST = (  # seconds per file in a two-process run at 204c630: 220, 103, 174, 106, 98, ...
    "tests/recipes/test_multi_worker.py",
    "tests/zoo/models/variants/test_common.py",
    "tests/recipes/test_cli.py",
    "tests/presets/test_shipped.py",
    "tests/recipes/test_other_datasets.py",
    "tests/export/test_gallery.py",
    "tests/export/test_sample.py",
    "tests/export/test_web.py",
    "tests/recipes/test_resume.py",
    "tests/export/test_refine_graph.py",
    "tests/recipes/test_trainer.py",
    "tests/zoo/models/test_distribute.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest in order


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same weights and noise."""
    keras.utils.set_random_seed(0)


def _shared_dir(tmp_path_factory, name: str):
    """A folder every test process of this run shares (xdist's processes have their temporary
    folders side by side), so a dataset is prepared once: a process that asks while another
    prepares it waits on the preparation's lock (zoo.data.prepare), then finds it prepared."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def fashion_mnist_dir(tmp_path_factory):
    """A tfds data dir where the real Fashion-MNIST was prepared offline in this run."""
    if not (data.DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed (make test installs it)")
    root = _shared_dir(tmp_path_factory, "tfds")
    data.prepare("fashion_mnist", str(root))
    return root


@pytest.fixture(scope="session")
def noto_emoji_dir(tmp_path_factory):
    """A tfds data dir where Noto emoji was prepared from its npm package in this run."""
    from zoo.data import noto_emoji

    if not (noto_emoji.package_dir() / "emoji.json").exists():
        pytest.skip("the npm package emoji-datasource-google is not installed (make test installs it)")
    root = _shared_dir(tmp_path_factory, "tfds-emoji")
    data.prepare(noto_emoji.NAME, str(root))
    return root


@pytest.fixture(scope="session")
def small_images(tmp_path_factory):
    """2,048 gray 28x28 images (bright bars on a dark field) in a .npy file: the data of the
    tests of how a run trains, stops, resumes or spreads over workers, where decoding
    Fashion-MNIST's 60,000 in each training process would take most of their time (the tfds
    path is tested in tests/zoo/data and by the CLI's tests)."""
    from tests import helpers

    path = _shared_dir(tmp_path_factory, "small-images") / "bars.npy"
    if not path.exists():
        staged = path.with_name(f"bars-{os.getpid()}.npy")  # another process may write it too
        np.save(staged, np.uint8((helpers.structured_images(2048, seed=1) + 1) * 127.5))
        staged.replace(path)
    return path
