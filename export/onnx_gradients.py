"""ONNX forms of the TensorFlow gradient ops that the ONNX converter has no handler for.

The refinement graph (`zoo.evaluation.refine.energy`) is a gradient through G and the judge. The
converter (tf2onnx 1.17) translates most of its ops, the transposed convolutions of a
convolution's input gradient included, but not the element-wise gradients of the
activations, nor the two shape helpers the backward pass uses with a dynamic batch. Each
is written here with the same arithmetic as TensorFlow's kernel, so the result is exact up
to float32 rounding:

    ReluGrad(dy, x)              dy * (x > 0)
    LeakyReluGrad(dy, x; alpha)  x > 0 ? dy : alpha * dy
    TanhGrad(y, dy)              dy * (1 - y * y)
    SigmoidGrad(y, dy)           dy * y * (1 - y)
    RsqrtGrad(y, dy)             dy * -0.5 * y * y * y
    ShapeN(a, b, ...)            Shape(a), Shape(b), ... in the op's integer type
    ConcatOffset(axis, s0, s1...) offset_i = (s0 + ... + s(i-1)) on the axis, 0 elsewhere
    DynamicStitch(indices, data)  scattered in order onto zeros (any index rank)

One more that TensorFlow emits for a dynamic batch, BroadcastGradientArgs, comes from
broadcasting two tensors of unknown shapes; the refinement graph is written without it
(`zoo.evaluation.refine.energy`). Any other op the converter lacks makes the export fail
with the op's name (`unsupported`).
"""

import numpy as np
import onnx
from onnx import TensorProto

_FLOAT = TensorProto.FLOAT
_INT = {np.int32: TensorProto.INT32, np.int64: TensorProto.INT64}


def _const(ctx, node, suffix: str, value, dtype=np.float32) -> str:
    return ctx.make_const(f"{node.name}_{suffix}", np.array(value, dtype)).output[0]


def _node(ctx, op_type: str, inputs: list[str], **attr) -> str:
    """A new ONNX node's output."""
    return ctx.make_node(op_type, inputs, attr=attr).output[0]


def _become(ctx, node, op_type: str, inputs: list[str]) -> None:
    """Turns the TF node into one ONNX node of `op_type` on `inputs`, keeping its output."""
    node.type = op_type
    node.attr.clear()
    ctx.replace_inputs(node, inputs)


def _relu_grad(ctx, node, name, args):
    dy, x = node.input
    positive = ctx.make_node("Greater", [x, _const(ctx, node, "zero", 0.0)]).output[0]
    mask = ctx.make_node("Cast", [positive], attr={"to": _FLOAT}).output[0]
    _become(ctx, node, "Mul", [dy, mask])


def _leaky_relu_grad(ctx, node, name, args):
    dy, x = node.input
    alpha = node.get_attr_value("alpha")
    positive = ctx.make_node("Greater", [x, _const(ctx, node, "zero", 0.0)]).output[0]
    scaled = ctx.make_node("Mul", [dy, _const(ctx, node, "alpha", alpha)]).output[0]
    _become(ctx, node, "Where", [positive, dy, scaled])


def _tanh_grad(ctx, node, name, args):
    y, dy = node.input
    square = ctx.make_node("Mul", [y, y]).output[0]
    slope = ctx.make_node("Sub", [_const(ctx, node, "one", 1.0), square]).output[0]
    _become(ctx, node, "Mul", [dy, slope])


def _sigmoid_grad(ctx, node, name, args):
    y, dy = node.input
    rest = ctx.make_node("Sub", [_const(ctx, node, "one", 1.0), y]).output[0]
    slope = ctx.make_node("Mul", [y, rest]).output[0]
    _become(ctx, node, "Mul", [dy, slope])


def _rsqrt_grad(ctx, node, name, args):
    y, dy = node.input
    cube = ctx.make_node("Mul", [ctx.make_node("Mul", [y, y]).output[0], y]).output[0]
    slope = ctx.make_node("Mul", [cube, _const(ctx, node, "half", -0.5)]).output[0]
    _become(ctx, node, "Mul", [dy, slope])


def _shape_n(ctx, node, name, args):
    to = _INT[_numpy_int(ctx, node.output[0])]
    for tensor, output in zip(list(node.input), list(node.output), strict=True):
        shape = ctx.make_node("Shape", [tensor]).output[0]
        ctx.replace_all_inputs(output, ctx.make_node("Cast", [shape], attr={"to": to}).output[0])
    ctx.remove_node(node.name)


def _concat_offset(ctx, node, name, args):
    axis, *shapes = node.input
    to = _INT[_numpy_int(ctx, node.output[0])]
    # A one-hot mask of the axis: Range(0, rank) == axis.
    rank = ctx.make_node("Cast", [ctx.make_node("Size", [shapes[0]]).output[0]], attr={"to": to}).output[0]
    zero = _const(ctx, node, "zero", 0, _numpy_dtype(to))
    one = _const(ctx, node, "one", 1, _numpy_dtype(to))
    positions = ctx.make_node("Range", [zero, rank, one]).output[0]
    on_axis = ctx.make_node("Equal", [positions, axis]).output[0]
    mask = ctx.make_node("Cast", [on_axis], attr={"to": to}).output[0]
    offset = ctx.make_node("Mul", [shapes[0], zero]).output[0]  # zeros of the shape's length
    for shape, output in zip(shapes, list(node.output), strict=True):
        ctx.replace_all_inputs(output, offset)
        offset = ctx.make_node("Add", [offset, ctx.make_node("Mul", [shape, mask]).output[0]]).output[0]
    ctx.remove_node(node.name)


def _numpy_int(ctx, tensor: str):
    return np.int64 if ctx.get_dtype(tensor) == TensorProto.INT64 else np.int32


def _numpy_dtype(onnx_type: int):
    return np.int64 if onnx_type == TensorProto.INT64 else np.int32


def _dynamic_stitch(ctx, node, name, args):
    """merged[indices[m][i]] = data[m][i], later m winning, for index tensors of any rank with
    one value per index (the converter's own handler takes rank-1 indices only; a sum over an
    axis of a dynamic batch stitches a scalar axis into the shape). Each m is scattered in
    turn onto zeros as long as the largest index + 1, so a later m overwrites an earlier one."""
    count = len(node.input) // 2
    indices, data = node.input[:count], node.input[count:]
    flat = _const(ctx, node, "flat", [-1], np.int64)
    indices = [_node(ctx, "Cast", [_node(ctx, "Reshape", [i, flat])], to=TensorProto.INT64) for i in indices]
    data = [_node(ctx, "Reshape", [d, flat]) for d in data]
    largest = _node(ctx, "ReduceMax", [_node(ctx, "Concat", indices, axis=0)], keepdims=1)
    length = _node(ctx, "Add", [largest, _const(ctx, node, "one", [1], np.int64)])
    first = _node(
        ctx,
        "Slice",
        [data[0], _const(ctx, node, "s0", [0], np.int64), _const(ctx, node, "s1", [1], np.int64)],
    )
    zero = _node(ctx, "Mul", [first, _const(ctx, node, "z", 0, _numpy_numeric(ctx, data[0]))])
    merged = _node(ctx, "Expand", [zero, length])
    for i, d in zip(indices, data, strict=True):
        merged = _node(ctx, "ScatterElements", [merged, i, d], axis=0)
    ctx.replace_all_inputs(node.output[0], merged)
    ctx.remove_node(node.name)


def _numpy_numeric(ctx, tensor: str):
    return {TensorProto.INT64: np.int64, TensorProto.INT32: np.int32}.get(ctx.get_dtype(tensor), np.float32)


HANDLERS = {
    "ReluGrad": (_relu_grad, []),
    "LeakyReluGrad": (_leaky_relu_grad, []),
    "TanhGrad": (_tanh_grad, []),
    "SigmoidGrad": (_sigmoid_grad, []),
    "RsqrtGrad": (_rsqrt_grad, []),
    "ShapeN": (_shape_n, []),
    "ConcatOffset": (_concat_offset, []),
    "DynamicStitch": (_dynamic_stitch, []),
}


def unsupported(model: onnx.ModelProto) -> list[str]:
    """The op types in a converted model that ONNX does not define (left as TF ops), sorted."""
    return sorted({node.op_type for node in model.graph.node if not onnx.defs.has(node.op_type, node.domain)})
