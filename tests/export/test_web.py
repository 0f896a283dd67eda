"""The sampling page (`ganzoo export --web`) in headless Chromium, served from the export folder."""

import json
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import onnxruntime as ort
import pytest

import recipes
from export import artifacts, manifest
from export import sample as sampler
from export import web as web_page
from recipes import cli
from tests import helpers
from tests.export import browser
from zoo import contract
from zoo.errors import ZooError

PAGE_FILES = {f"web/{name}" for name in (*web_page.PAGE, *web_page.RUNTIME)}
ACCEPTED, REJECTED = (0, 200, 80), (220, 40, 40)
DRAWS = [  # the page's own draws of G's inputs, each beside Python's
    {"n": 40, "seed": 0, "steering": {}},
    {"n": 7, "seed": 123456789012, "steering": {"label": 3, "truncation": 0.7}},
    {"n": 12, "seed": 5, "steering": {"truncation": 0.25}},
]


def _generator(out: Path, inputs: dict) -> np.ndarray:
    """G on the page's inputs (JSON lists), through onnxruntime in Python."""
    specs = manifest.read(out)["generator"]["inputs"]
    session = ort.InferenceSession(str(out / "generator.onnx"), providers=["CPUExecutionProvider"])
    return session.run(["image"], {s["name"]: np.asarray(inputs[s["name"]], s["dtype"]) for s in specs})[0]


def _cases(written: dict) -> list[dict]:
    """Three examples with inputs the test chooses, and the same inputs for Python."""
    rng = np.random.default_rng(123)
    z = rng.standard_normal((3, written["latent_dim"])).astype(np.float32)
    z[0] = 0.0
    extra = {}
    if written["num_classes"]:
        extra["label"] = [0, 1, written["num_classes"] - 1]
    for name, code in (written["codes"] or {}).items():
        if code["kind"] == "categorical":
            extra[name] = [2, 0, code["size"] - 1]
        else:
            values = rng.uniform(code["low"], code["high"], (3, code["size"]))
            extra[name] = values.astype(np.float32).tolist()
    return [{"z": z.tolist(), "extra": extra}]


def _steps(written: dict, cases: list[dict]) -> list[dict]:
    """What the driver does on the page, in order (the tests below name them by index)."""
    codes = written["codes"] or {}
    last = str(_cols(written) - 1)
    steer = (
        {"select": "class", "value": last}
        if written["num_classes"]
        else {"select": "code-code_cat", "value": last}
    )
    steps = [
        {"name": "slid", "slideFirstZ": True},  # the first z slider to one end
        {"name": "resampled", "click": "resample"},  # "new samples"
        {"name": "picked", **steer},  # every sample of the last class (code value)
        {"name": "truncated", "range": "truncation", "value": "0.5"},
        {"name": "walked", "walk": [0, 7, 15]},  # the walk, three frames of it
        {"name": "untruncated", "range": "truncation", "value": "0"},
        {"name": "filtered", "check": "only-good", "value": True},  # only good enough
        {"name": "unfiltered", "check": "only-good", "value": False},
        {"name": "descent", "refine": {**cases[0], "steps": 3, "stepSize": 0.05, "noise": 0.0, "seed": 1}},
        {"name": "langevin", "refine": {**cases[0], "steps": 3, "stepSize": 0.05, "noise": 0.5, "seed": 4}},
        {"name": "refined", "fill": "refine-steps", "value": 5},  # the grid refined by 5 steps
    ]
    if "code_cont" in codes:  # code_cont fixed, before the grid is refined
        steps.insert(3, {"name": "coded", "range": "code-code_cont-1", "value": "0.75"})
    return steps


@pytest.fixture(scope="module", params=["cgan", "infogan"])
def browsed(request, tmp_path_factory):
    """(export folder, manifest, cases, driver results): `ganzoo export RUN --web`, then the page."""
    browser.require_tools()
    run = tmp_path_factory.mktemp(request.param)
    model = helpers.fit_briefly(helpers.tiny(request.param))
    if request.param == "cgan":
        model.class_names = tuple(f"class {k}" for k in range(model.num_classes))
    model.save(run / "final.keras")
    _judge(model, request.param).save(run / "judge")
    recipe = recipes.get(f"{request.param}-fashion-mnist")  # a run directory holds its recipe too
    (run / "config.json").write_text(json.dumps(recipe.to_dict()))
    assert cli.main(["export", str(run), "--web"]) == 0
    out = run / "export"
    written = manifest.read(out)
    cases = _cases(written)
    spec = {"open": None, "cases": cases, "draws": DRAWS, "steps": _steps(written, cases)}
    with browser.served(out) as port:
        result = browser.browse(f"http://127.0.0.1:{port}/web/index.html", [spec])
    sampled = result["samplers"][0]
    named = {taken["step"]["name"]: taken for taken in sampled["steps"]}
    return out, written, cases, {**result, "port": port, **sampled, "steps": named}


def _judge(model, variant: str):
    """The run's judge: cgan's a critic classing samples by label, infogan's its discriminator
    classing them with the shipped classifier; the class-share rule rejects 30% per class."""
    from zoo.evaluation.features import DomainClassifier
    from zoo.evaluation.judge import Judge

    real = helpers.structured_images(200, seed=8)
    inputs = model.sample_inputs(200, 9)
    fake = model.generate(200, inputs=inputs)
    if variant == "cgan":
        judge = Judge.train_critic(model, real, epochs=1)
        classes, k = (np.arange(200) % helpers.NUM_CLASSES, inputs["label"]), helpers.NUM_CLASSES
        source = "label"
    else:
        judge = Judge.from_discriminator(model)
        judge.classifier = DomainClassifier.shipped("fashion_mnist").network
        judge.info.update(classes_from="classifier", dataset="fashion_mnist")
        classes, k, source = (judge.classes(real), judge.classes(fake)), 10, "classifier"
    return judge.calibrate(real, fake, 0.9, *classes, k, source, rule="class-share")


def _python_verdicts(out: Path, written: dict, inputs: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(real), calibrated logit, accepted) of the judge on G's images for `inputs`, in Python."""
    images = _generator(out, inputs)
    exported = sampler.Exported(out, written)
    logits = exported.judge_logits(images)
    classes = exported.classes(images, {k: np.asarray(v) for k, v in inputs.items()})
    card = written["judge_calibration"]
    return exported.p_real(images), logits, contract.accepted(logits, classes, card)


def _cols(written: dict) -> int:
    """The page's columns: one per class or categorical code value."""
    return contract.classes_of(written)[1]


def _frame_colours(snapshot: dict, cols: int) -> list[tuple]:
    """The colour of each cell's frame (its top-left corner, in the padding)."""
    grid = browser.canvas(snapshot, "grid")
    cells = range(len(snapshot["verdicts"]))
    return [tuple(int(v) for v in grid[1 + (i // cols) * 30, 1 + (i % cols) * 30, :3]) for i in cells]


def _assert_shows(out, written, snapshot):
    """The grid is G on the page's inputs, and the focus canvas its first sample."""
    grid = browser.canvas(snapshot, "grid")
    want = contract.grid(_generator(out, snapshot["inputs"]), cols=_cols(written))
    browser.assert_picture(grid, want, cell=28)
    np.testing.assert_array_equal(browser.canvas(snapshot, "focus"), grid[2 : 2 + 28, 2 : 2 + 28])
    return grid


def _python_inputs(written: dict, n: int, seed: int, steering: dict) -> dict:
    return contract.sample_inputs(written, n, seed, **steering)


def _steering(shown: dict) -> dict:
    """The steering a snapshot's grid was drawn with, as `contract.sample_inputs` takes it."""
    return {k: v for k, v in shown["steering"].items() if k != "seed"}


def test_the_page_loads_only_from_the_export_server(browsed):
    _, _, _, result = browsed
    assert "onnxruntime-web" in result["ready"]["status"]
    assert result["errors"] == []
    hosts = {(urlsplit(u).scheme, urlsplit(u).hostname, urlsplit(u).port) for u in result["requests"]}
    assert hosts == {("http", "127.0.0.1", result["port"])}
    paths = {urlsplit(u).path for u in result["requests"]}
    assert {"/manifest.json", "/generator.onnx", "/web/ort-wasm-simd-threaded.wasm"} <= paths


def test_run_matches_onnxruntime_in_python(browsed):
    out, _, cases, result = browsed
    for case, got in zip(cases, result["runs"], strict=True):
        want = _generator(out, {"z": case["z"], **case["extra"]})
        assert got["dims"] == list(want.shape) == [3, 28, 28, 1]
        image = np.asarray(got["image"], np.float32).reshape(want.shape)
        assert np.max(np.abs(image - want)) < 1e-4
        assert np.std(want) > 0 and not np.allclose(want[0], want[1])


def test_the_seed_gives_python_s_latents_in_the_browser(browsed):
    """The same seed and steering give the same inputs in the page as in Python (and so in
    sample.py, which calls the same contract)."""
    _, written, _, result = browsed
    for draw, got in zip(DRAWS, result["draws"], strict=True):
        want = _python_inputs(written, draw["n"], draw["seed"], draw["steering"])
        browser.assert_same_latents(got, want)
    loaded = result["loaded"]
    assert loaded["steering"] == {"seed": 1, "label": None, "codes": {}, "truncation": None}
    browser.assert_same_latents(loaded["inputs"], _python_inputs(written, 4 * _cols(written), 1, {}))


def test_the_canvas_shows_the_generator_on_the_pages_inputs(browsed):
    out, written, _, result = browsed
    grid = _assert_shows(out, written, result["loaded"])
    cells = grid[2:-2, 2:-2, 0]
    assert len(np.unique(cells[cells > 0])) > 5  # pixels vary; not one flat value


def test_a_slider_and_new_samples_redraw(browsed):
    out, written, _, result = browsed
    loaded, slid, resampled = (
        result["loaded"],
        result["steps"]["slid"]["shown"],
        result["steps"]["resampled"]["shown"],
    )
    assert abs(slid["inputs"]["z"][0][0]) == 3.0  # moved to one end of the slider
    assert slid["inputs"]["z"][1:] == loaded["inputs"]["z"][1:]
    _assert_shows(out, written, slid)
    assert not np.array_equal(browser.canvas(slid, "focus"), browser.canvas(loaded, "focus"))
    assert resampled["steering"]["seed"] == 2
    browser.assert_same_latents(
        resampled["inputs"], _python_inputs(written, len(resampled["inputs"]["z"]), 2, {})
    )
    _assert_shows(out, written, resampled)


def test_the_class_picker_and_truncation_steer_the_grid_as_python_does(browsed):
    out, written, _, result = browsed
    name = contract.classes_of(written)[0]
    n = 4 * _cols(written)
    picked, truncated = result["steps"]["picked"]["shown"], result["steps"]["truncated"]["shown"]
    last = _cols(written) - 1
    steering = {"label": last} if name == "label" else {"codes": {"code_cat": last}}
    assert set(picked["inputs"][name]) == {last}
    browser.assert_same_latents(picked["inputs"], _python_inputs(written, n, 2, steering))
    _assert_shows(out, written, picked)
    assert truncated["steering"]["truncation"] == 0.5
    assert np.abs(truncated["inputs"]["z"]).max() <= 0.5
    browser.assert_same_latents(truncated["inputs"], _python_inputs(written, n, 2, _steering(truncated)))
    _assert_shows(out, written, truncated)


def test_a_fixed_code_steers_the_grid_as_python_does(browsed):
    out, written, _, result = browsed
    if "code_cont" not in (written["codes"] or {}):  # cgan: no code to fix, and no code control
        assert "coded" not in result["steps"] and not written["codes"]
        assert result["loaded"]["steering"]["codes"] == {}
        return
    fixed = result["steps"]["coded"]["shown"]
    assert fixed["steering"]["codes"]["code_cont"] == [0.0, 0.75]
    want = _python_inputs(written, len(fixed["inputs"]["z"]), 2, _steering(fixed))
    browser.assert_same_latents(fixed["inputs"], want)
    assert np.all(want["code_cont"] == [0.0, 0.75])
    _assert_shows(out, written, fixed)


def test_the_walk_runs_from_one_seed_to_the_next_as_python_interpolates(browsed):
    out, written, _, result = browsed
    step = result["steps"]["walked"]
    steering = _steering(step["shown"])
    seed = step["shown"]["steering"]["seed"]
    ends = [_python_inputs(written, 1, s, steering) for s in (seed, seed + 1)]
    want = contract.interpolate(written, *ends, 16)
    got = step["walked"]["inputs"]
    for name in want:  # endpoints: exactly the two seeds' first samples
        np.testing.assert_array_max_ulp(
            np.asarray(got[name][0], want[name].dtype), ends[0][name][0], maxulp=1
        )
        np.testing.assert_array_max_ulp(
            np.asarray(got[name][-1], want[name].dtype), ends[1][name][0], maxulp=1
        )
        np.testing.assert_allclose(np.asarray(got[name], np.float64), want[name], atol=1e-6)
    frames = _generator(out, got)
    for k, shown in zip(step["step"]["walk"], step["frames"], strict=True):
        browser.assert_picture(browser.canvas({"walk": shown}, "walk"), contract.to_uint8(frames[k]))


def test_the_page_shows_the_judges_verdicts_as_python_computes_them(browsed):
    out, written, _, result = browsed
    for shown in (result["loaded"], result["steps"]["resampled"]["shown"]):
        verdicts = shown["verdicts"]
        p_real, logits, accepted = _python_verdicts(out, written, shown["inputs"])
        assert len(verdicts) == len(p_real) == len(shown["inputs"]["z"])
        np.testing.assert_allclose([v["pReal"] for v in verdicts], p_real, atol=1e-4)
        np.testing.assert_allclose([v["logit"] for v in verdicts], logits, atol=1e-4, rtol=1e-5)
        got = np.array([v["accepted"] for v in verdicts])
        thresholds = np.array(written["judge_calibration"]["rules"]["class-share"]["thresholds"])
        classes = np.array([v["cls"] for v in verdicts])
        near = np.abs(logits - np.array([contract.logit_of(t) for t in thresholds[classes]])) < 1e-4
        np.testing.assert_array_equal(got[~near], accepted[~near])
        assert got.any() and not got.all()  # the grid shows both verdicts
        assert _frame_colours(shown, _cols(written)) == [ACCEPTED if a else REJECTED for a in got]
        assert f"{int(got.sum())} of {len(got)} accepted" in shown["verdict"]


def test_only_good_enough_leaves_only_accepted_samples(browsed):
    out, written, _, result = browsed
    filtered = result["steps"]["filtered"]["shown"]
    assert filtered["error"] == "" and all(v["accepted"] for v in filtered["verdicts"]), filtered["error"]
    _, _, accepted = _python_verdicts(out, written, filtered["inputs"])
    assert accepted.all()  # Python's judge accepts every sample on the canvas
    _assert_shows(out, written, filtered)  # the canvas is G on those inputs
    assert set(_frame_colours(filtered, _cols(written))) == {ACCEPTED}
    discrete = contract.classes_of(written)[0]
    assert set(filtered["inputs"][discrete]) == {_cols(written) - 1}  # the class picked still holds


def test_the_page_refines_z_as_python_does(browsed):
    """Three steps in the browser land where `contract.langevin` on refine.onnx's gradient in
    Python does, without noise and with the same noise (float32 runs of the same graph: 1e-4)."""
    out, written, cases, result = browsed
    case = cases[0]
    inputs = {"z": np.asarray(case["z"], np.float32), **{k: np.asarray(v) for k, v in case["extra"].items()}}
    exported = sampler.Exported(out, written)
    for step in (result["steps"]["descent"], result["steps"]["langevin"]):
        options = step["step"]["refine"]
        want = contract.langevin(inputs, exported.energy_gradient, 3, 0.05, noise=options["noise"],
                                 bound=3.0, seed=options["seed"])["z"]  # fmt: skip
        got = np.asarray(step["refined"], np.float32)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
        assert np.abs(got - inputs["z"]).max() > 1e-3  # the judge (and the noise) moved z


def test_refinement_on_redraws_the_grid_from_refined_inputs(browsed):
    out, written, _, result = browsed
    plain, refined = result["steps"]["unfiltered"]["shown"], result["steps"]["refined"]["shown"]
    z, z0 = np.asarray(refined["inputs"]["z"]), np.asarray(plain["inputs"]["z"])
    assert z.shape == z0.shape and np.abs(z).max() <= 3.0
    assert 0 < np.abs(z - z0).mean() < 0.5  # moved from the same seed's draw, not redrawn
    for name in set(plain["inputs"]) - {"z"}:
        assert refined["inputs"][name] == plain["inputs"][name]
    _assert_shows(out, written, refined)  # the canvas is G on the refined inputs


def test_the_manifest_covers_the_page(browsed):
    out, written, _, _ = browsed
    assert set(written["files"]) >= PAGE_FILES
    for name in web_page.PAGE:
        assert written["files"][f"web/{name}"] == contract.sha256(web_page.HERE / name)
    for name in web_page.RUNTIME:
        assert written["files"][f"web/{name}"] == contract.sha256(web_page.DIST / name)
    assert sorted(p.name for p in (out / "web").iterdir()) == sorted(n.split("/")[1] for n in PAGE_FILES)


def test_without_onnxruntime_web_export_fails_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(web_page, "DIST", tmp_path / "not-installed")
    out = tmp_path / "run" / "export"
    with pytest.raises(ZooError, match="run `make web`"):
        artifacts.export_model(helpers.tiny("dcgan"), out, web=True)
    assert list((tmp_path / "run").iterdir()) == []
