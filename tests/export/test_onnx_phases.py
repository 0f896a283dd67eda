"""The phase rewrite of transposed convolutions gives the same function, and only where exact."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from export import onnx_phases

RNG = np.random.default_rng(0)


def _graph(layers: list[tuple[int, int]], between=("Mul", "Add", "Relu"), size=5, **convt) -> onnx.ModelProto:
    """x (N, C0, size, size) -> ConvTranspose layers (C_in, C_out) with `between` after each
    but the last, then Tanh: the shape of every generator in the zoo."""
    nodes, inits, x = [], [], "x"
    attributes = {"strides": [2, 2], "kernel_shape": [4, 4], "pads": [1, 1, 1, 1], **convt}
    for i, (c_in, c_out) in enumerate(layers):
        w = RNG.standard_normal((c_in, c_out, *attributes["kernel_shape"])).astype(np.float32) * 0.3
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        inputs = [x, f"w{i}"]
        if i == len(layers) - 1:
            inits.append(numpy_helper.from_array(RNG.standard_normal(c_out).astype(np.float32), f"b{i}"))
            inputs.append(f"b{i}")
        nodes.append(helper.make_node("ConvTranspose", inputs, [f"t{i}"], **attributes))
        x = f"t{i}"
        if i < len(layers) - 1:
            for j, op in enumerate(between):
                out = f"{op}{i}_{j}"
                if op in ("Mul", "Add"):
                    value = RNG.uniform(0.5, 1.5, (c_out, 1, 1)).astype(np.float32)
                    inits.append(numpy_helper.from_array(value, f"{op}c{i}_{j}"))
                    nodes.append(helper.make_node(op, [x, f"{op}c{i}_{j}"], [out]))
                else:
                    nodes.append(
                        helper.make_node(op, [x], [out], **({"alpha": 0.2} if op == "LeakyRelu" else {}))
                    )
                x = out
    nodes.append(helper.make_node("Tanh", [x], ["y"]))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", layers[0][0], size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "c", "h", "w"])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x})[0]


@pytest.mark.parametrize(
    ("layers", "between", "interleaves"),
    [
        ([(3, 2)], ("Relu",), 1),
        ([(6, 4), (4, 1)], ("Mul", "Add", "Relu"), 1),
        ([(6, 4), (4, 3)], ("Mul", "Add", "LeakyRelu", "Mul"), 1),
        ([(8, 6), (6, 4), (4, 3)], ("Mul", "Add", "Relu"), 2),
        ([(8, 6), (6, 5), (5, 4), (4, 3)], ("Relu", "Add"), 2),
    ],
)
def test_the_rewrite_is_the_same_function(layers, between, interleaves):
    model = _graph(layers, between)
    rewritten, info = onnx_phases.rewrite(model)
    onnx.checker.check_model(rewritten)
    ops = [n.op_type for n in rewritten.graph.node]
    assert "ConvTranspose" not in ops and info["layers"] == len(layers)
    assert ops.count("DepthToSpace") == interleaves  # once per pair of layers, never in between
    x = RNG.standard_normal((3, layers[0][0], 5, 5)).astype(np.float32)
    want = _run(model, x)
    assert want.shape == (3, layers[-1][1], 5 * 2 ** len(layers), 5 * 2 ** len(layers))
    np.testing.assert_allclose(_run(rewritten, x), want, atol=1e-5)  # float32 sums in another order
    np.testing.assert_allclose(_run(rewritten, x[:1]), want[:1], atol=1e-5)  # batch 1 too


def test_mul_and_add_after_a_layer_fold_into_its_convolutions():
    model = _graph([(6, 4), (4, 1)], ("Mul", "Add", "Relu"))
    rewritten, info = onnx_phases.rewrite(model)
    assert info["folded"] == 2
    assert [n.op_type for n in rewritten.graph.node].count("Mul") == 0
    used = {i for n in rewritten.graph.node for i in n.input}
    assert {i.name for i in rewritten.graph.initializer} <= used  # the old weights are gone


@pytest.mark.parametrize(
    "convt",
    [
        {"strides": [1, 1]},
        {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
        {"pads": [2, 2, 2, 2]},
        {"dilations": [2, 2]},
        {"output_padding": [1, 1]},
    ],
)
def test_other_transposed_convolutions_are_left_alone(convt):
    model = _graph([(3, 2), (2, 1)], ("Relu",), size=6, **convt)
    rewritten, info = onnx_phases.rewrite(model)
    assert info == {"layers": 0, "folded": 0, "transposes_removed": 0}
    assert [n.op_type for n in rewritten.graph.node] == [n.op_type for n in model.graph.node]


def test_a_tensor_used_twice_ends_the_chain():
    model = _graph([(4, 3), (3, 2)], ("Relu",))
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    model.graph.output.append(
        helper.make_tensor_value_info(relu.output[0], TensorProto.FLOAT, ["n", 3, 10, 10])
    )
    rewritten, info = onnx_phases.rewrite(model)
    assert info["layers"] == 2  # each layer alone, interleaved after each
    assert [n.op_type for n in rewritten.graph.node].count("DepthToSpace") == 2
    x = RNG.standard_normal((2, 4, 5, 5)).astype(np.float32)
    session = ort.InferenceSession(rewritten.SerializeToString(), providers=["CPUExecutionProvider"])
    original = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for got, want in zip(session.run(None, {"x": x}), original.run(None, {"x": x}), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)  # float32 sums in another order


# Every variant's exported G, rewritten and within parity: tests/zoo/models/variants/test_common.py.


def _dense_prefix_graph(after_relu_mul: bool) -> onnx.ModelProto:
    """z -> MatMul -> Reshape NHWC -> Mul, Add -> Relu [-> Mul] -> Transpose NCHW -> one layer."""
    k, h, w, c = 6, 3, 3, 4
    inits = [
        numpy_helper.from_array(RNG.standard_normal((k, h * w * c)).astype(np.float32), "dense"),
        numpy_helper.from_array(np.array([-1, h, w, c], np.int64), "nhwc"),
        numpy_helper.from_array(RNG.uniform(0.5, 1.5, c).astype(np.float32), "scale"),
        numpy_helper.from_array(RNG.standard_normal(c).astype(np.float32), "shift"),
        numpy_helper.from_array(RNG.uniform(0.5, 1.5, c).astype(np.float32), "after"),
        numpy_helper.from_array(RNG.standard_normal((c, 2, 4, 4)).astype(np.float32), "w"),
    ]
    nodes = [
        helper.make_node("MatMul", ["z", "dense"], ["m"]),
        helper.make_node("Reshape", ["m", "nhwc"], ["r"]),
        helper.make_node("Mul", ["r", "scale"], ["s"]),
        helper.make_node("Add", ["s", "shift"], ["a"]),
        helper.make_node("Relu", ["a"], ["relu"]),
    ]
    x = "relu"
    if after_relu_mul:
        nodes.append(helper.make_node("Mul", ["relu", "after"], ["after_mul"]))
        x = "after_mul"
    nodes += [
        helper.make_node("Transpose", [x], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("ConvTranspose", ["nchw", "w"], ["y"], strides=[2, 2], kernel_shape=[4, 4],
                         pads=[1, 1, 1, 1]),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2, 6, 6])], inits,
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("after_relu_mul", [False, True])
def test_the_layout_transpose_before_the_first_layer_goes(after_relu_mul):
    model = _dense_prefix_graph(after_relu_mul)
    rewritten, info = onnx_phases.rewrite(model)
    ops = [n.op_type for n in rewritten.graph.node]
    assert info["transposes_removed"] == 1 and "Transpose" not in ops
    assert ops.count("Mul") == int(after_relu_mul)  # batch norm's Mul folded into the dense weights
    z = RNG.standard_normal((4, 6)).astype(np.float32)
    run = [
        ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        for m in (model, rewritten)
    ]
    np.testing.assert_allclose(run[1].run(["y"], {"z": z})[0], run[0].run(["y"], {"z": z})[0], atol=1e-5)


def _lookup_graph(shift: int) -> onnx.ModelProto:
    """label -> (label + shift) mod 7 via Add and Mod, then Gather from a table of 5 rows."""
    table = RNG.standard_normal((5, 3)).astype(np.float32)
    nodes = [
        helper.make_node("Add", ["label", "shift"], ["shifted"]),
        helper.make_node("Mod", ["shifted", "seven"], ["index"]),
        helper.make_node("Gather", ["table", "index"], ["y"], axis=0),
    ]
    inits = [
        numpy_helper.from_array(table, "table"),
        numpy_helper.from_array(np.array(shift, np.int32), "shift"),
        numpy_helper.from_array(np.array(7, np.int32), "seven"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("label", TensorProto.INT32, ["batch"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])], inits,
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_index_arithmetic_goes_only_when_it_changes_no_valid_label():
    from export import onnx_gather

    original = _lookup_graph(7)
    identity, count = onnx_gather.simplify(original)  # (label + 7) mod 7 = label on 0..4
    assert count == 1 and [n.op_type for n in identity.graph.node] == ["Gather"]
    shifted, count = onnx_gather.simplify(_lookup_graph(1))  # label + 1: not the identity
    assert count == 0 and len(shifted.graph.node) == 3
    labels = np.arange(5, dtype=np.int32)
    run = [ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
           for m in (original, identity)]  # fmt: skip
    np.testing.assert_array_equal(
        run[1].run(["y"], {"label": labels})[0], run[0].run(["y"], {"label": labels})[0]
    )
