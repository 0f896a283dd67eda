"""Writes G and D as SavedModel and ONNX, G also as LiteRT, checks them against Keras, then
commits atomically.

Nothing is written in place: the folder is assembled under a temporary name next to
its destination and renamed only after every parity check passed.
"""

import json
import shutil
import warnings
from pathlib import Path

import keras
import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx

from export import onnx_gather, onnx_gradients, onnx_phases
from export import sample as standalone_sampler
from export import web as web_page
from zoo import contract, presets
from zoo.errors import ZooError
from zoo.evaluation import refine
from zoo.files import staged_folder
from zoo.models import saving
from zoo.models.adversarial import AdversarialModel, feed

# max |onnxruntime - Keras| and |SavedModel - Keras| accepted, for outputs up to 1 in size; an
# output larger than that (a Wasserstein critic's, which is unbounded) is allowed as much
# relative to its largest value, the float32 rounding it carries: parity["output_scale"].
PARITY_TOLERANCE = 1e-4
OPSET = 17
PARITY_BATCH = 16
# max |dynamic-range int8 LiteRT - Keras| accepted, a quarter of the value range: a check against a
# broken conversion, not a quality gate. The error grows with training: the default recipe's
# generator measured 0.05 / 0.16 / 0.18 on the parity inputs after 1 / 10 / 20 epochs (its full
# run; 0.43 at most over 256 samples, mean 0.006), tiny variants after a few steps up to 0.01.
TFLITE_INT8_TOLERANCE = 0.5


def _spec(name: str, dtype, shape) -> dict:
    return {"name": name, "dtype": tf.as_dtype(dtype).name, "shape": [None, *shape]}


def _network_io(
    model: AdversarialModel, judge=None, discriminator: bool = True
) -> dict[str, tuple[keras.Model, list, list]]:
    """network -> (keras model, input specs, output specs), named as the networks name them.

    The generator exported is the one users sample from (the EMA of G when kept); the
    judge, when given, is exported with its temperature folded in (image -> p_real).
    """
    io = {}
    networks = [("generator", model.sampling_generator)]
    if discriminator:
        networks.append(("discriminator", model.discriminator))
    if judge is not None:
        networks.append(("judge", judge.as_model()))
        if judge.classes_from == "classifier":  # what the class rules need to class a sample
            networks.append(("classifier", judge.classifier))
    for name, network in networks:
        network = float32_copy(network)
        inputs = [_spec(t.name, t.dtype, t.shape[1:]) for t in network.inputs]
        outputs = [
            _spec(n, t.dtype, t.shape[1:]) for n, t in zip(network.output_names, network.outputs, strict=True)
        ]
        io[name] = (network, inputs, outputs)
    return io


def float32_copy(network: keras.Model) -> keras.Model:
    """The network computing in float32, same weights: what runtimes without bfloat16 or
    float16 kernels can run. Networks trained in float32 come back unchanged."""
    if all(layer.dtype_policy.name == "float32" for layer in _all_layers(network)):
        return network

    def clone(layer):
        return layer.__class__.from_config(saving.as_float32(layer.get_config()))

    copy = keras.models.clone_model(network, clone_function=clone)
    copy.set_weights(network.get_weights())
    return copy


def _all_layers(network: keras.Model) -> list:
    """Every layer of a network, those of the networks nested in it included (the judge's scorer)."""
    return [
        leaf
        for layer in network.layers
        for leaf in ([layer] + (_all_layers(layer) if isinstance(layer, keras.Model) else []))
    ]


def _signature(inputs: list[dict]) -> list[tf.TensorSpec]:
    return [tf.TensorSpec(s["shape"], s["dtype"], name=s["name"]) for s in inputs]


def _call(network: keras.Model, inputs: list[dict], outputs: list[dict]):
    """A function of the inputs, positionally, returning named outputs, in inference mode."""

    def serve(*tensors):
        named = {spec["name"]: t for spec, t in zip(inputs, tensors, strict=True)}
        result = network(feed(network, named), training=False)
        result = result if isinstance(result, (list, tuple)) else [result]
        return {o["name"]: r for o, r in zip(outputs, result, strict=True)}

    return serve


def _write_saved_model(network, inputs, outputs, path: Path) -> None:
    archive = keras.export.ExportArchive()
    archive.track(network)
    archive.add_endpoint("serve", _call(network, inputs, outputs), input_signature=_signature(inputs))
    archive.write_out(str(path), verbose=False)


def write_onnx(network, inputs, outputs, path: Path, rewrite: bool = True) -> dict:
    """The network as ONNX with the contract's names, its transposed convolutions rewritten
    as phase convolutions where exact (`export.onnx_phases`) and its label lookups freed of
    index arithmetic that changes no valid label (`export.onnx_gather`), unless `rewrite` is
    False (the benchmark's baseline); returns what was rewritten ({} for nothing)."""
    signature = _signature(inputs)
    # Keras reads [spec] as one input and [[spec, spec, ...]] as a model of several.
    signature = signature if len(signature) == 1 else [signature]
    network.export(str(path), format="onnx", input_signature=signature, opset_version=OPSET, verbose=False)
    graph_model = _contract_names(onnx.load(str(path)), outputs)
    rewritten = {}
    if rewrite:
        graph_model, phases = onnx_phases.rewrite(graph_model)
        graph_model, gathers = onnx_gather.simplify(graph_model)
        rewritten = {**phases, "label_gathers": gathers} if phases["layers"] or gathers else {}
    onnx.checker.check_model(graph_model, full_check=True)
    onnx.save(graph_model, str(path))
    return rewritten


def _contract_names(graph_model: onnx.ModelProto, outputs: list[dict]) -> onnx.ModelProto:
    """The converter names outputs after TF tensors ("Identity:0"): give them the contract's
    names, and call the batch dimension "batch"."""
    graph = graph_model.graph
    for value, spec in zip(graph.output, outputs, strict=True):
        old, new = value.name, spec["name"]
        for node in graph.node:
            node.output[:] = [new if o == old else o for o in node.output]
            node.input[:] = [new if i == old else i for i in node.input]
        value.name = new
    for value in [*graph.input, *graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    return graph_model


def refine_module(model: AdversarialModel, judge) -> tuple[tf.Module, list, list]:
    """The refinement graph (`zoo.evaluation.refine.energy`) of the exported G and judge: a
    module holding both networks and the graph as `serve`, input specs, output specs."""
    module = tf.Module()
    module.generator = float32_copy(model.sampling_generator)
    module.scorer = float32_copy(judge.scorer)
    inputs = [_spec(t.name, t.dtype, t.shape[1:]) for t in module.generator.inputs]
    outputs = [_spec("gradient", "float32", inputs[0]["shape"][1:]), _spec("logit", "float32", [])]
    energy = refine.energy(module.generator, module.scorer, judge.temperature, judge.bias)
    module.serve = tf.function(energy, input_signature=_signature(inputs))
    return module, inputs, outputs


def write_refine(module: tf.Module, inputs, outputs, folder: Path, saved_model: bool = True) -> None:
    """refine/ (a SavedModel whose serving signature is the graph) and refine.onnx, the
    gradient ops the converter lacks written in ONNX (`export.onnx_gradients`).

    Raises ZooError naming any op that is still not ONNX."""
    if saved_model:
        tf.saved_model.save(module, str(folder / "refine"), signatures=module.serve.get_concrete_function())
    converted, _ = tf2onnx.convert.from_function(
        module.serve,
        input_signature=_signature(inputs),
        opset=OPSET,
        custom_op_handlers=dict(onnx_gradients.HANDLERS),  # the converter adds to the dict it is given
    )
    missing = onnx_gradients.unsupported(converted)
    if missing:
        raise ZooError(
            f"refine: the ONNX converter has no form for the TensorFlow ops {', '.join(missing)} in the "
            "gradient through G and the judge; export with --no-refine to leave refinement out"
        )
    graph_model = _contract_names(converted, outputs)
    onnx.checker.check_model(graph_model, full_check=True)
    onnx.save(graph_model, str(folder / "refine.onnx"))


def _parity_inputs(model: AdversarialModel, name: str, inputs: list[dict], seed: int = 0) -> list[np.ndarray]:
    """Inputs in signature order: G's as users sample them; D's on generated images and noise."""
    sampled = model.sample_inputs(PARITY_BATCH, seed)
    if name in ("discriminator", "judge", "classifier"):
        fakes = model.generate(PARITY_BATCH // 2, seed=seed)
        noise = np.random.default_rng(seed).uniform(-1, 1, fakes.shape).astype(np.float32)
        sampled["image"] = np.concatenate([fakes, noise])
    return [sampled[spec["name"]] for spec in inputs]


def _keras_outputs(network, inputs, outputs, arrays) -> dict[str, np.ndarray]:
    """What Keras computes on the parity inputs: the reference every exported file must match."""
    served = _call(network, inputs, outputs)(*[tf.constant(a) for a in arrays])
    return {name: value.numpy() for name, value in served.items()}


def _max_diffs(
    inputs, outputs, folder: Path, name: str, arrays, reference, single_reference
) -> dict[str, float]:
    session = ort.InferenceSession(str(folder / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    names = [o["name"] for o in outputs]
    onnx_out = session.run(names, {s["name"]: a for s, a in zip(inputs, arrays, strict=True)})
    saved_out = None
    if (folder / name).is_dir():  # not in an ONNX-only export
        served = tf.saved_model.load(str(folder / name)).signatures["serving_default"]
        saved_out = served(**{s["name"]: tf.constant(a) for s, a in zip(inputs, arrays, strict=True)})
    # One example alone must give the same answer: the batch dimension is truly dynamic.
    single = session.run(names, {s["name"]: a[:1] for s, a in zip(inputs, arrays, strict=True)})
    diffs = {"onnx": 0.0, "onnx_batch_1": 0.0, **({"saved_model": 0.0} if saved_out is not None else {})}
    for spec, got in zip(outputs, onnx_out, strict=True):
        want = reference[spec["name"]]
        diffs["onnx"] = max(diffs["onnx"], float(np.max(np.abs(got - want))))
        if saved_out is not None:
            saved = saved_out[spec["name"]].numpy()
            diffs["saved_model"] = max(diffs["saved_model"], float(np.max(np.abs(saved - want))))
    for got, spec in zip(single, outputs, strict=True):
        want = single_reference[spec["name"]]  # not reference[:1]: a minibatch D scores an image by its batch
        diffs["onnx_batch_1"] = max(diffs["onnx_batch_1"], float(np.max(np.abs(got - want))))
    return diffs


def _run_tflite(path: Path, inputs: list[dict], arrays) -> dict[str, np.ndarray]:
    """A LiteRT file's serving signature on `arrays` (the runner resizes its inputs)."""
    with warnings.catch_warnings():  # it says the interpreter moves to the ai-edge-litert package
        warnings.filterwarnings("ignore", ".*tf.lite.Interpreter is deprecated", UserWarning)
        interpreter = tf.lite.Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner("serving_default")
    return runner(**{spec["name"]: a for spec, a in zip(inputs, arrays, strict=True)})


def _write_tflite(inputs, outputs, folder: Path, name: str, arrays, reference) -> tuple[dict, dict]:
    """The staged SavedModel `name` as LiteRT files, float32 and dynamic-range int8 (int8
    weights, float activations); returns their manifest entries and max |LiteRT - Keras|.

    Raises ZooError when the float file differs by more than PARITY_TOLERANCE or the int8
    one by more than TFLITE_INT8_TOLERANCE, at the parity batch or at batch 1.
    """
    entries, diffs = {}, {}
    for key, optimizations, tolerance in (
        ("tflite", [], PARITY_TOLERANCE),
        ("tflite_dynamic_int8", [tf.lite.Optimize.DEFAULT], TFLITE_INT8_TOLERANCE),
    ):
        file = f"{name}.tflite" if key == "tflite" else f"{name}_dynamic_int8.tflite"
        # Not keras' export(format="litert"): it writes a SavedModel of its own and names the output output_0.
        converter = tf.lite.TFLiteConverter.from_saved_model(str(folder / name))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex ops
        converter.optimizations = optimizations
        (folder / file).write_bytes(converter.convert())
        diff = 0.0
        for batch in (len(arrays[0]), 1):
            got = _run_tflite(folder / file, inputs, [a[:batch] for a in arrays])
            for spec in outputs:
                want = reference[spec["name"]][:batch]
                diff = max(diff, float(np.max(np.abs(got[spec["name"]] - want))))
        if not diff <= tolerance:  # also catches NaN
            raise ZooError(
                f"{name}: {file} differs from Keras by {diff:.3g} (tolerance {tolerance:g}); "
                "nothing was written"
            )
        entries.update({key: file, f"{key}_bytes": (folder / file).stat().st_size})
        diffs[key] = diff
    return entries, diffs


# What export/sample.py needs, beside Python: requirements.txt pins the versions this export
# was checked with (relax them if your platform has no wheel of these).
SAMPLER_REQUIREMENTS = ("numpy", "onnxruntime", "pillow")


def _write_sampler(folder: Path) -> None:
    """sample.py (the standalone sampler), contract.py (the deployment contract it reads the
    folder with; the project's own files) and their requirements.txt."""
    from importlib.metadata import version

    shutil.copyfile(standalone_sampler.__file__, folder / "sample.py")
    shutil.copyfile(contract.__file__, folder / "contract.py")
    pins = "".join(f"{name}=={version(name)}\n" for name in SAMPLER_REQUIREMENTS)
    (folder / "requirements.txt").write_text(
        "# What sample.py needs: python -m pip install -r requirements.txt, then python sample.py --help\n"
        + pins
    )


def export_model(
    model: AdversarialModel,
    out_dir: str | Path,
    *,
    replace: bool = False,
    judge=None,
    web: bool = False,
    with_refine: bool = True,
    onnx_only: bool = False,
    with_discriminator: bool = True,
) -> dict:
    """Exports G and D of `model` (and a `zoo.evaluation.judge.Judge`) to `out_dir`; returns the manifest.

    `onnx_only` leaves out the SavedModels and LiteRT files (what a browser page needs: the
    ONNX files and the manifest); `with_discriminator` False leaves out D (a page that
    samples and judges reads G, the judge and its classifier).

    With a judge, the folder also holds the refinement graph (`refine`: G's inputs -> the
    gradient of the energy in z and the calibrated logit) unless `with_refine` is False.
    Raises ZooError, leaving nothing behind, when `out_dir` exists (unless `replace`)
    or when an exported network differs from Keras by more than PARITY_TOLERANCE (G's int8
    LiteRT file: TFLITE_INT8_TOLERANCE). With `web`,
    the folder also carries the sampling page (`export.web`) in `web/`, listed in the manifest.
    """
    with staged_folder(out_dir, replace) as staging:
        if web:  # first: it fails fast when onnxruntime-web is not installed
            web_page.copy_page(staging)
        _write_sampler(staging)
        networks, parity, scales = {}, {}, {}

        def check(name, inputs, outputs, arrays, reference_of) -> tuple[dict, dict]:
            """max |exported - reference_of(arrays)| per runtime, at the parity batch and at
            batch 1, and the reference; raises ZooError past the tolerance."""
            reference = reference_of(arrays)
            single = reference_of([a[:1] for a in arrays])
            diffs = _max_diffs(inputs, outputs, staging, name, arrays, reference, single)
            worst = max(diffs.values())
            scales[name] = max(1.0, *(float(np.max(np.abs(v))) for v in reference.values()))
            if not worst <= PARITY_TOLERANCE * scales[name]:  # also catches NaN
                raise ZooError(
                    f"{name}: exported outputs differ from Keras by {worst:.3g} "
                    f"(tolerance {PARITY_TOLERANCE * scales[name]:g}); nothing was written"
                )
            return diffs, reference

        def entry(name, inputs, outputs, **extra) -> dict:
            files = {"saved_model": name, "signature": "serving_default"} if not onnx_only else {}
            files["onnx"] = f"{name}.onnx"
            return {**files, "inputs": inputs, "outputs": outputs, **extra}

        for name, (network, inputs, outputs) in _network_io(model, judge, with_discriminator).items():
            if not onnx_only:
                _write_saved_model(network, inputs, outputs, staging / name)
            rewritten = write_onnx(network, inputs, outputs, staging / f"{name}.onnx")
            arrays = _parity_inputs(model, name, inputs)
            diffs, reference = check(
                name,
                inputs,
                outputs,
                arrays,
                lambda a, n=network, i=inputs, o=outputs: _keras_outputs(n, i, o, a),
            )
            lite = {}
            if name == "generator" and not onnx_only:
                lite, lite_diffs = _write_tflite(inputs, outputs, staging, name, arrays, reference)
                diffs["tflite"] = lite_diffs["tflite"]
                # Kept apart: every diff under parity[network] is within PARITY_TOLERANCE.
                parity["tflite_dynamic_int8"] = {
                    "tolerance": TFLITE_INT8_TOLERANCE,
                    f"{name}_max_abs_diff": lite_diffs["tflite_dynamic_int8"],
                }
            parity[name] = {f"{k}_max_abs_diff": v for k, v in diffs.items()}
            networks[name] = entry(
                name, inputs, outputs, **lite, **({"onnx_rewrite": rewritten} if rewritten else {})
            )
        if judge is not None and with_refine:
            module, inputs, outputs = refine_module(model, judge)
            arrays = _parity_inputs(model, "refine", inputs)
            # TensorFlow's gradient of the networks exported (float32 copies, as for G and D).
            calibration = judge.temperature, judge.bias
            gradient = refine.gradient_function(module.generator, module.scorer, *calibration)

            def reference_of(arrays):
                named = {spec["name"]: a for spec, a in zip(inputs, arrays, strict=True)}
                return {k: v.numpy() for k, v in gradient(named).items()}

            with refine.without_remapping():
                write_refine(module, inputs, outputs, staging, saved_model=not onnx_only)
                diffs, _ = check("refine", inputs, outputs, arrays, reference_of)
            parity["refine"] = {f"{k}_max_abs_diff": v for k, v in diffs.items()}
            networks["refine"] = entry("refine", inputs, outputs)
        manifest = contract.manifest(
            model.input_fields,
            variant=getattr(type(model), "variant_name", type(model).__name__),
            image_shape=model.image_shape,
            networks=networks,
            judge_calibration=None if judge is None else judge.card,
            parity={"tolerance": PARITY_TOLERANCE, "batch": PARITY_BATCH, "output_scale": scales, **parity},
            versions={
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "onnx": onnx.__version__,
                "onnxruntime": ort.__version__,
            },
            opset=OPSET,
            files=contract.file_hashes(staging),
        )
        (staging / contract.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def export_trained(
    trained: "presets.Trained | str | Path",
    out_dir: str | Path | None = None,
    *,
    replace: bool = False,
    web: bool = False,
    with_refine: bool = True,
) -> dict:
    """Exports a trained GAN, with its judge, to `out_dir`; `trained` is a run or preset
    (`zoo.presets.locate`), and a run's default `out_dir` is `RUN/export`."""
    if not isinstance(trained, presets.Trained):
        trained = presets.locate(trained)
    if out_dir is None and trained.kind != "run":
        raise ZooError(f"{trained.path} is a preset; give the export folder")
    out_dir = out_dir or trained.path / "export"
    judge = trained.judge()
    return export_model(
        trained.model(), out_dir, replace=replace, judge=judge, web=web, with_refine=with_refine
    )
