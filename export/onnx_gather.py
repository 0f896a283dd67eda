"""Drops the index arithmetic in front of an embedding lookup when it changes no valid label.

TensorFlow's converter wraps every Gather of an embedding table in ops that map a negative
index i to i + n (Less, Cast, Not, Mul, Add: about ten small ops), which ONNX's Gather does
on its own. For a conditional generator at batch 1 those ops cost as much as a convolution.
This rewrite does not pattern-match the converter's ops: for each Gather of a constant table
whose indices are computed from one graph input alone, it runs that computation on every
valid value of the input (0 .. n-1, n the table's rows) and, when it returns each value
unchanged, feeds the input to the Gather directly. It is therefore exact on every label the
manifest allows; what no longer has a consumer is removed.
"""

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper


def _ancestors(name: str, producer: dict) -> tuple[list, set]:
    """The nodes computing `name`, in graph order, and the names they read that no node makes."""
    nodes, leaves, stack, seen = [], set(), [name], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        node = producer.get(current)
        if node is None:
            leaves.add(current)
            continue
        nodes.append(node)
        stack.extend(i for i in node.input if i)
    return nodes, leaves


def _is_identity(model, nodes, index: str, source, rows: int, types: dict) -> bool:
    """Does the subgraph `nodes`, from graph input `source` to `index`, return 0..rows-1 unchanged?"""
    if index not in types:
        return False
    order = [n for n in model.graph.node if any(n is m for m in nodes)]
    used = {i for n in order for i in n.input}
    constants = [i for i in model.graph.initializer if i.name in used]
    graph = helper.make_graph(
        order, "index", [source], [helper.make_tensor_value_info(index, types[index], None)], constants,
    )  # fmt: skip
    sub = helper.make_model(graph, opset_imports=model.opset_import)
    sub.ir_version = model.ir_version
    dims = source.type.tensor_type.shape.dim
    dtype = helper.tensor_dtype_to_np_dtype(source.type.tensor_type.elem_type)
    values = np.arange(rows, dtype=dtype).reshape(-1, *[1] * (len(dims) - 1))
    try:
        session = ort.InferenceSession(sub.SerializeToString(), providers=["CPUExecutionProvider"])
        (got,) = session.run([index], {source.name: values})
    except Exception:  # a subgraph onnxruntime will not run alone: leave it
        return False
    return got.shape == values.shape and np.array_equal(got, values)


def simplify(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    """The model with identity index arithmetic before Gathers removed; and how many Gathers."""
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    constants = {i.name: i for i in graph.initializer}
    inputs = {i.name: i for i in graph.input}
    inferred = onnx.shape_inference.infer_shapes(model).graph.value_info
    types = {v.name: v.type.tensor_type.elem_type for v in inferred if v.type.tensor_type.elem_type}
    rewired = {}
    for node in graph.node:
        if node.op_type != "Gather" or node.input[0] not in constants or node.input[1] in inputs:
            continue
        if next((a.i for a in node.attribute if a.name == "axis"), 0) != 0:
            continue
        nodes, leaves = _ancestors(node.input[1], producer)
        sources = [inputs[name] for name in leaves if name in inputs]
        if len(sources) != 1 or not leaves - {sources[0].name} <= constants.keys():
            continue
        source = sources[0]
        if source.type.tensor_type.elem_type not in (onnx.TensorProto.INT32, onnx.TensorProto.INT64):
            continue
        rows = numpy_helper.to_array(constants[node.input[0]]).shape[0]
        if _is_identity(model, nodes, node.input[1], source, rows, types):
            rewired[id(node)] = source.name
    if not rewired:
        return model, 0
    kept = []
    for node in graph.node:
        if id(node) in rewired:
            node = helper.make_node(
                "Gather", [node.input[0], rewired[id(node)]], list(node.output), name=node.name
            )
        kept.append(node)
    needed = {o.name for o in graph.output}
    alive = []
    for node in reversed(kept):  # drop what no longer leads to an output
        if any(o in needed for o in node.output):
            alive.append(node)
            needed.update(i for i in node.input if i)
    alive.reverse()
    used = {i for n in alive for i in n.input}
    new_graph = helper.make_graph(
        alive,
        graph.name,
        list(graph.input),
        list(graph.output),
        [i for i in graph.initializer if i.name in used],
    )
    rewritten = helper.make_model(
        new_graph, opset_imports=model.opset_import, producer_name=model.producer_name
    )
    rewritten.ir_version = model.ir_version
    return rewritten, len(rewired)
