import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from recipes.quiet_tensorflow import import_tensorflow_quietly

import_tensorflow_quietly()  # its load-time log lines would follow a parallel run's summary

import keras  # noqa: E402
import pytest  # noqa: E402

from zoo import data  # noqa: E402

# The test files that take longest (summed per file from a --junitxml report), slowest first: each
# test process takes a whole file (--dist loadfile), so sending these out first lets the two
# finish together instead of one running a long file alone at the end. The Makefile turns
# off xdist's own order (files with more tests first) with --no-loadscope-reorder.
SLOWEST_FIRST = (  # seconds per file in a two-process run at 204c630: 220, 174, 106, 103, 98, ...
    "tests/recipes/test_multi_worker.py",
    "tests/recipes/test_cli.py",
    "tests/presets/test_shipped.py",
    "tests/zoo/models/variants/test_common.py",
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


@pytest.fixture(scope="session")
def fashion_mnist_dir(tmp_path_factory):
    """A tfds data dir where the real Fashion-MNIST was prepared offline in this session."""
    if not (data.DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed (make test installs it)")
    root = tmp_path_factory.mktemp("tfds")
    data.prepare("fashion_mnist", str(root))
    return root


@pytest.fixture(scope="session")
def noto_emoji_dir(tmp_path_factory):
    """A tfds data dir where Noto emoji was prepared from its npm package in this session."""
    from zoo.data import noto_emoji

    if not (noto_emoji.package_dir() / "emoji.json").exists():
        pytest.skip("the npm package emoji-datasource-google is not installed (make test installs it)")
    root = tmp_path_factory.mktemp("tfds-emoji")
    data.prepare(noto_emoji.NAME, str(root))
    return root
