"""Steering what G draws (zoo/contract.py): the portable random numbers, a class by name,
codes, truncation, interpolation and saved latents, through the model and the contract."""

import math

import numpy as np
import pytest

from tests import helpers
from zoo import contract
from zoo.errors import ZooError

NAMES = ("T-shirt/top", "Trouser", "Pullover", "Sneaker")


@pytest.fixture(scope="module")
def cgan():
    model = helpers.tiny("cgan", class_names=NAMES)
    return model


@pytest.fixture(scope="module")
def infogan():
    return helpers.tiny("infogan")


def test_a_stream_is_fixed_by_its_key_and_looks_random():
    # The first words of Stream(0) are part of the contract: the web page computes the same.
    np.testing.assert_array_equal(
        contract.Stream(0).words(4), [2528849409, 680798330, 2536884253, 3486494109]
    )
    firsts = {
        tuple(contract.Stream(*key).words(2)) for key in [(0,), (1,), (0, 0), (1 << 32,), (2, 0xD25), (3,)]
    }
    assert len(firsts) == 6  # distinct keys, distinct streams (a zero word counts, a high word too)
    normal = contract.Stream(5).standard_normal(200_000)
    assert abs(normal.mean()) < 0.01 and abs(normal.std() - 1) < 0.01 and abs(np.mean(normal**4) - 3) < 0.05
    uniform = contract.Stream(6).uniform(-1.0, 2.0, (100_000,))
    assert uniform.min() > -1 and uniform.max() < 2 and abs(uniform.mean() - 0.5) < 0.01
    counts = np.bincount(contract.Stream(7).integers(0, 10, 100_000), minlength=10)
    assert counts.min() > 9_500 and counts.max() < 10_500
    drawn = contract.Stream(8)
    a, b = drawn.standard_normal(3), drawn.standard_normal(3)  # a stream moves on
    assert not np.allclose(a, b) and drawn.position == 12


def test_a_class_by_index_or_by_name_is_the_label_g_receives(cgan):
    for label in (3, "3", "sneaker", " SNEAKER "):
        drawn = cgan.sample_inputs(6, seed=1, label=label)
        np.testing.assert_array_equal(drawn["label"], 3)
        np.testing.assert_array_equal(drawn["z"], cgan.sample_inputs(6, seed=1)["z"])  # z is the seed's
    assert cgan.input_fields["class_names"] == list(NAMES)
    with pytest.raises(
        ZooError, match="'boot' is not a class; choose T-shirt/top, Trouser, Pullover, Sneaker"
    ):
        cgan.sample_inputs(2, label="boot")
    with pytest.raises(ZooError, match=r"in \[0, 4\), got 4"):
        cgan.sample_inputs(2, label=4)
    with pytest.raises(ZooError, match="has no classes"):
        helpers.tiny("dcgan").sample_inputs(2, label=1)


def test_codes_by_name(infogan):
    drawn = infogan.sample_inputs(5, seed=2, codes=["code_cat=3", "code_cont=0.5,-1"])
    np.testing.assert_array_equal(drawn["code_cat"], 3)
    np.testing.assert_array_equal(drawn["code_cont"], np.tile([0.5, -1.0], (5, 1)))
    same = infogan.sample_inputs(5, seed=2, codes={"code_cont": 0.25})
    np.testing.assert_array_equal(same["code_cont"], 0.25)  # one value for every component
    np.testing.assert_array_equal(same["code_cat"], np.arange(5) % 10)  # the other code still cycles
    for bad, message in [
        (["code_cat"], "NAME=VALUE"),
        (["colour=1"], r"no such code \(its codes: code_cat, code_cont\)"),
        (["code_cat=10"], r"one integer in \[0, 10\)"),
        (["code_cat=1.5"], "one integer"),
        (["code_cont=2"], r"in \[-1.0, 1.0\]"),
        (["code_cont=1,2,3"], "1 or 2 numbers"),
        (["code_cont=x"], "not a number"),
    ]:
        with pytest.raises(ZooError, match=message):
            infogan.sample_inputs(2, codes=bad)


def test_truncation_keeps_latents_within_the_bound_and_the_rest_where_they_were(infogan):
    plain = infogan.sample_inputs(400, seed=3)
    for bound in (0.3, 1.0, 2.0):
        cut = infogan.sample_inputs(400, seed=3, truncation=bound)
        assert np.abs(cut["z"]).max() <= bound and np.abs(cut["code_cont"]).max() <= bound
        inside = np.abs(plain["z"]) <= bound
        np.testing.assert_array_equal(cut["z"][inside], plain["z"][inside])  # only the outliers drawn again
        assert not np.array_equal(cut["z"][~inside], plain["z"][~inside])
        np.testing.assert_array_equal(cut["code_cat"], plain["code_cat"])
    # A normal truncated at 1: variance 1 - 2 phi(1) / (2 Phi(1) - 1) = 0.291.
    z = infogan.sample_inputs(4000, seed=4, truncation=1.0)["z"]
    assert abs(z.var() - 0.2911) < 0.01
    for bad in (0, -1.0, True, "x", float("nan")):
        with pytest.raises(ZooError, match="--truncation must be a bound > 0"):
            infogan.sample_inputs(2, truncation=bad)
    with pytest.raises(ZooError, match=r"at least 0\.01"):
        infogan.sample_inputs(2, truncation=0.001)
    fields = {**infogan.input_fields, "codes": {"c": {"kind": "uniform", "size": 1, "low": 0.5, "high": 1.0}}}
    with pytest.raises(contract.ContractError, match="leaves code c no values"):
        contract.sample_inputs(fields, 2, truncation=0.2)


def test_interpolation_endpoints_are_the_two_seeds_samples(cgan, infogan):
    for model in (cgan, infogan):
        frames = model.interpolate(3, 11, frames=9)
        assert frames.shape == (9, 28, 28, 1)
        np.testing.assert_allclose(frames[0], model.generate(1, seed=3)[0], atol=1e-6)
        np.testing.assert_allclose(frames[-1], model.generate(1, seed=11)[0], atol=1e-6)
        assert not np.allclose(frames[4], frames[0], atol=1e-3)
    fixed = cgan.interpolate(3, 11, frames=4, label="Sneaker")
    np.testing.assert_allclose(fixed[-1], cgan.generate(1, seed=11, label=3)[0], atol=1e-6)


def test_slerp_follows_the_great_circle_and_lines_join_uniform_codes(infogan):
    fields = infogan.input_fields
    a, b = infogan.sample_inputs(1, seed=1), infogan.sample_inputs(1, seed=2)
    walk = contract.interpolate(fields, a, b, 5)
    norms = np.linalg.norm(walk["z"], axis=1)
    # slerp keeps |z| between the ends' norms (a line would dip toward 0 in the middle)
    low, high = sorted([np.linalg.norm(a["z"]), np.linalg.norm(b["z"])])
    assert np.all(norms >= low - 1e-4) and np.all(norms <= high + 1e-4)
    line = (1 - 0.5) * a["code_cont"] + 0.5 * b["code_cont"]
    np.testing.assert_allclose(walk["code_cont"][2], line[0], atol=1e-6)
    np.testing.assert_array_equal(walk["code_cat"], [a["code_cat"][0]] * 2 + [b["code_cat"][0]] * 3)
    # Between two points of one sphere: on the sphere, at equal angles.
    b = {**b, "z": b["z"] * np.linalg.norm(a["z"]) / np.linalg.norm(b["z"])}
    walk = contract.interpolate(fields, a, b, 5)["z"].astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(walk, axis=1), np.linalg.norm(a["z"]), rtol=1e-5)
    unit = walk / np.linalg.norm(walk, axis=1, keepdims=True)
    angles = np.arccos(np.clip(np.sum(unit[:-1] * unit[1:], axis=1), -1, 1))
    whole = math.acos(float(np.clip(unit[0] @ unit[-1], -1, 1)))
    np.testing.assert_allclose(angles, whole / 4, atol=1e-4)
    with pytest.raises(contract.ContractError, match="at least 2 frames"):
        contract.interpolate(fields, a, b, 1)


def test_saved_latents_come_back_as_an_endpoint(cgan, tmp_path):
    drawn = cgan.sample_inputs(5, seed=9, truncation=1.5)
    path = contract.save_latents(tmp_path / "latents.npz", drawn)
    fields = cgan.input_fields
    for given, k in ((str(path), 0), (f"{path}:3", 3)):
        loaded = contract.endpoint(fields, given)
        for name, value in drawn.items():
            np.testing.assert_array_equal(loaded[name], value[k : k + 1])
    np.testing.assert_array_equal(
        contract.endpoint(fields, "9")["z"], drawn["z"][:1] * 0 + cgan.sample_inputs(1, 9)["z"]
    )
    with pytest.raises(contract.ContractError, match="holds 5 samples; there is no sample 7"):
        contract.endpoint(fields, f"{path}:7")
    with pytest.raises(contract.ContractError, match="does not hold this generator's inputs"):
        contract.endpoint(helpers.tiny("infogan").input_fields, str(path))
    with pytest.raises(contract.ContractError, match="cannot read latents"):
        contract.endpoint(fields, str(tmp_path / "missing.npz"))
