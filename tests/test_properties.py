"""Whatever is thrown at a public entry point, it works as documented or raises ZooError.

Random shapes (0 to 5 dimensions of 0 to 40), dtypes and values (NaN, infinities, huge
numbers), random `key=value` strings and random bytes; derandomized, so every run draws
the same examples.
"""

import contextlib
import io
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import recipes
from export import manifest
from tests import helpers
from zoo.errors import ZooError
from zoo.evaluation.judge import Judge

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True)
DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int32, np.uint8, np.bool_]
MAX_ELEMENTS = 40 * 28 * 28


def _capped(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Shapes stay small enough to score quickly: large ones are cut down to sides of 4."""
    return shape if math.prod(shape) <= MAX_ELEMENTS else tuple(min(d, 4) for d in shape)


SHAPES = st.one_of(
    st.lists(st.integers(0, 40), max_size=5).map(tuple).map(_capped),
    st.integers(0, 40).map(lambda n: (n, 28, 28, 1)),  # the judge's own shape, often
)


@st.composite
def arrays(draw, shape=SHAPES, dtypes=DTYPES, in_range=(-1, 1)):
    """Arrays of any listed dtype; for floats, values in `in_range` or anything at all."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(shape) if isinstance(shape, st.SearchStrategy) else shape
    if dtype.kind == "f":
        width = dtype.itemsize * 8
        anything = st.floats(width=width)  # NaN, infinities and the largest numbers included
        elements = st.one_of(st.floats(*in_range, width=width), anything)
    else:
        elements = hnp.from_dtype(dtype)
    return draw(hnp.arrays(dtype, shape, elements=elements))


# === The judge ===


@pytest.fixture(scope="module")
def judge():
    return Judge.from_discriminator(helpers.tiny("dcgan"))


@settings(PROPERTY, max_examples=25)  # each new shape traces the judge's networks again (~0.7 s)
@given(images=arrays())
@example(images=np.zeros((3, 28, 28, 1), np.float32))
@example(images=np.zeros((0, 28, 28, 1), np.float16))
def test_judge_scores_and_accept_work_or_raise_zoo_error(judge, images):
    try:
        scores = judge.scores(images)
    except ZooError:
        scores = None
        valid = images.dtype.kind == "f" and images.shape[1:] == (28, 28, 1) and images.ndim == 4
        assert not (valid and np.isfinite(images).all() and np.abs(images).max(initial=0) <= 1)
    if scores is not None:
        assert scores.shape == (len(images),) and np.isfinite(scores).all()
        assert ((scores >= 0) & (scores <= 1)).all()
    try:
        accepted = judge.accept(images)
    except ZooError:
        assert scores is None  # accept refuses exactly what scores refuses
        return
    assert accepted.shape == (len(images),) and accepted.dtype == bool
    np.testing.assert_array_equal(accepted, scores >= judge.threshold)


# === Sampling with labels ===


@pytest.fixture(scope="module")
def cgan():
    return helpers.tiny("cgan")


@st.composite
def label_arrays(draw):
    """(n, labels): labels of the right shape and classes, or of any shape, dtype and values."""
    n = draw(st.integers(0, 40))
    valid = hnp.arrays(st.sampled_from([np.int32, np.uint8, np.int8]), n, elements=st.integers(0, 3))
    near = arrays(shape=st.just((n,)), in_range=(0, helpers.NUM_CLASSES))
    return n, draw(st.one_of(valid, near, arrays()))


@PROPERTY
@given(n_labels=label_arrays(), seed=st.integers(-3, 2**63))
@example(n_labels=(3, np.array([0, 3, 1], np.int32)), seed=0)
def test_generate_with_any_labels_works_or_raises_zoo_error(cgan, n_labels, seed):
    n, labels = n_labels
    try:
        images = cgan.generate(n, seed=seed, inputs={"label": labels})
    except ZooError:
        in_classes = labels.dtype.kind in "iu" and ((labels >= 0) & (labels < helpers.NUM_CLASSES)).all()
        assert not (labels.shape == (n,) and in_classes and seed >= 0), "valid input refused"
        return
    assert images.shape == (n, 28, 28, 1) and images.dtype == np.float32
    assert np.isfinite(images).all() and np.abs(images).max(initial=0) <= 1


# === Recipe overrides ===

FIELDS = sorted(
    {f for r in [*recipes.RECIPES.values(), *recipes.CLASSIFIER_RECIPES.values()] for f in r.to_dict()}
)
SPECIAL = ["nan", "inf", "-inf", "1e400", "1e-400", "0", "-1", "1", "2.5", "0.5", "true", "no", "none", "",
           "  7 ", "adam", "sgd", "critic", "mnist", "9" * 5000]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(SPECIAL), st.integers().map(str), st.floats().map(repr), st.text(max_size=12)
)
PAIRS = st.one_of(
    st.tuples(st.sampled_from(FIELDS), VALUES).map("=".join),
    st.tuples(st.text(max_size=10), VALUES).map("=".join),
    st.text(max_size=20),  # often no "=" at all
)


@PROPERTY
@given(
    name=st.sampled_from([*recipes.RECIPES, *recipes.CLASSIFIER_RECIPES]), pairs=st.lists(PAIRS, max_size=4)
)
@example(name=recipes.DEFAULT_RECIPE, pairs=["g_lr=nan"])
@example(name="classifier-mnist", pairs=["lr=-1"])
def test_recipe_overrides_work_or_raise_zoo_error(name, pairs):
    base = recipes.get(name)
    try:
        recipe = base.with_overrides(pairs)
    except ZooError:
        return
    assert type(recipe) is type(base) and type(recipe).from_dict(recipe.to_dict()) == recipe
    for value in recipe.to_dict().values():
        assert not isinstance(value, float) or math.isfinite(value)


# === Reading a manifest ===

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
MANIFESTS = st.one_of(
    st.binary(max_size=200),
    JSON.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.text(max_size=12), st.one_of(st.text(max_size=64), JSON), max_size=4).map(
        lambda files: json.dumps({"format": manifest.FORMAT, "files": files}).encode()
    ),
)


@PROPERTY
@given(content=MANIFESTS)
@example(content=json.dumps({"format": manifest.FORMAT, "files": {}}).encode())
def test_reading_any_manifest_works_or_raises_zoo_error(content):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "present.bin").write_bytes(b"x")
        (Path(folder) / manifest.NAME).write_bytes(content)
        try:
            read = manifest.read(folder)
        except ZooError:
            return
    assert read["format"] == manifest.FORMAT and isinstance(read["files"], dict)


# === Sampling an export without TensorFlow ===


@pytest.fixture(scope="module")
def cgan_export(cgan, tmp_path_factory):
    from export import artifacts

    out = tmp_path_factory.mktemp("cgan") / "export"
    artifacts.export_model(cgan, out)
    return out


@PROPERTY
@given(
    n=st.integers(-2, 40),
    seed=st.integers(-3, 2**63),
    label=st.one_of(st.none(), st.integers(-3, 2 * helpers.NUM_CLASSES), st.floats(), st.booleans()),
)
@example(n=5, seed=0, label=None)
@example(n=3, seed=1, label=helpers.NUM_CLASSES - 1)
def test_onnx_sample_works_or_raises_zoo_error(cgan_export, n, seed, label):
    from export import sample as sampler

    valid_label = label is None or (type(label) is int and 0 <= label < helpers.NUM_CLASSES)
    try:
        images = sampler.sample(cgan_export, n, seed=seed, label=label)
    except sampler.ContractError:
        assert not (n >= 1 and seed >= 0 and valid_label), "valid input refused"
        return
    assert valid_label, f"label {label!r} accepted"
    assert images.shape == (n, 28, 28, 1) and images.dtype == np.float32
    assert np.isfinite(images).all() and np.abs(images).max(initial=0) <= 1


TOKENS = ["--n", "--seed", "--label", "--out", "--bogus", "-1", "0", "3", "4", "abc", "1e3", "2.5", "",
          "EXPORT", "OUT.png", "OUT.npy", "OUT.txt", "MISSING"]  # fmt: skip
ARGS = st.sampled_from(TOKENS)


@PROPERTY
@given(argv=st.lists(ARGS, max_size=8))
@example(argv=["EXPORT", "--n", "4", "--out", "OUT.npy"])
@example(argv=["EXPORT", "--seed", "-1", "--out", "OUT.npy"])
@example(argv=["EXPORT", "--n", "3", "--label", "2", "--out", "OUT.png"])
def test_onnx_sample_command_exits_0_or_2(cgan_export, argv):
    from export import sample as sampler

    with tempfile.TemporaryDirectory() as folder:
        names = {"EXPORT": str(cgan_export), "MISSING": str(Path(folder) / "missing")}
        names |= {f"OUT{s}": str(Path(folder) / f"out{s}") for s in (".png", ".npy", ".txt")}
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            code = sampler.main([names.get(a, a) for a in argv])
        err = stderr.getvalue().strip()
        written = sorted(p.name for p in Path(folder).iterdir())
        if code == 0:
            assert len(written) == 1 and err == ""
            if written[0].endswith(".npy"):
                samples = np.load(Path(folder) / written[0], allow_pickle=False)
                assert samples.dtype == np.float32 and np.abs(samples).max() <= 1
        else:
            assert code == 2 and err.startswith("ganzoo-onnx-sample: error: ") and "\n" not in err, err
            assert written == []  # nothing half-written
