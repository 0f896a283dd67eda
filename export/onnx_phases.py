"""An exact rewrite of a generator's ONNX graph: transposed convolutions as phase convolutions.

A ConvTranspose with stride 2, kernel 4 and pads 1 is four 2x2 convolutions, one per output
phase (a, b): phase (a, b) is a Conv padded [1-a, 1-b, a, b] whose kernel is the transposed
kernel's taps [3-a-2t, 3-b-2u], and the output interleaves the phases. Interleaving after
each layer does not pay (a DepthToSpace on a wide tensor costs more than the convolutions
save); what pays is never interleaving in between. So a pair of such layers becomes:

- the first: four 2x2 Convs, whose four phase outputs stay separate pieces at the input's
  resolution;
- what follows it, while elementwise (batch norm's Mul and Add, Relu, LeakyRelu, Tanh,
  Sigmoid): applied to each piece, Mul and Add folded into the Convs where they follow one;
- the second: one 2x2 Conv per piece (its pads [a, b, 1-a, 1-b] pick the neighbours a
  phase needs) giving all 16 phases of the output as channels, summed over the pieces;
- one DepthToSpace(4) at the end of the pair (mode DCR: channel (4 f_h + f_w) C + c).

A chain of more such layers (32 and 64 pixel generators) repeats this in pairs; a last layer
alone ends with DepthToSpace(2). Nothing else is touched (the graph before the first layer,
conditional inputs included), and a layer that is not exactly this pattern (other strides,
kernels, pads, groups, dilations, output padding, a weight that is not a constant, a tensor
used twice) ends the chain: the rewrite applies only where it is exact. Mathematically the
result is the same function; its float32 sums run in another order (parity is checked by
the export like every other file's).
"""

import dataclasses

import numpy as np
import onnx
from onnx import helper, numpy_helper

ELEMENTWISE = ("Relu", "LeakyRelu", "Tanh", "Sigmoid")
PIECES = ((0, 0), (0, 1), (1, 0), (1, 1))  # DCR order of the phases of a 2x upsampling


@dataclasses.dataclass
class _Conv:
    """Convolutions waiting to be written, so that a following Mul or Add folds into them.

    kernels: one (C_out_total, C_in, 2, 2) per input tensor; pads: their pads; inputs: their
    input names; bias: (C_out_total,); summed: True when the outputs are summed into one
    tensor (the second layer of a pair), False when each is a piece of its own (the first).
    """

    inputs: list
    kernels: list
    pads: list
    bias: np.ndarray
    summed: bool


def _attributes(node) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _first_layer(w: np.ndarray) -> list[np.ndarray]:
    """ConvTranspose weight (C_in, C_out, 4, 4) -> the four phases' Conv kernels (C_out, C_in, 2, 2)."""
    kernels = []
    for a, b in PIECES:
        k = np.empty((w.shape[1], w.shape[0], 2, 2), w.dtype)
        for t in range(2):
            for u in range(2):
                k[:, :, t, u] = w[:, :, 3 - a - 2 * t, 3 - b - 2 * u].T
        kernels.append(k)
    return kernels


def _second_layer(w: np.ndarray) -> list[np.ndarray]:
    """ConvTranspose weight (C_in, C_out, 4, 4) applied to a 2x-phase input -> for each input
    piece (a_h, a_w), a Conv kernel (16 C_out, C_in, 2, 2) giving all 16 output phases."""
    c_in, c_out = w.shape[:2]
    kernels = []
    for a_h, a_w in PIECES:
        k = np.zeros((16 * c_out, c_in, 2, 2), w.dtype)
        for f_h, j_h, tap_h in _taps(a_h):
            for f_w, j_w, tap_w in _taps(a_w):
                rows = slice((4 * f_h + f_w) * c_out, (4 * f_h + f_w + 1) * c_out)
                k[rows, :, j_h, j_w] += w[:, :, tap_h, tap_w].T
        kernels.append(k)
    return kernels


def _taps(a: int):
    """(output phase f in [0, 4), kernel index j, transposed-kernel tap) along one axis, for
    input piece a: output 4r + 2e + c reads input 2m + a with v = e - 1 + c + t, a = v mod 2,
    m = r + floor(v / 2); the Conv (padded a before) reads it at j = floor(v / 2) + a."""
    for e in range(2):
        for c in range(2):
            for t in range(2):
                v = e - 1 + c + t
                if v % 2 == a:
                    yield 2 * e + c, v // 2 + a, 3 - c - 2 * t


class _Rewriter:
    def __init__(self, model: onnx.ModelProto):
        self.model = model
        self.graph = model.graph
        self.constants = {i.name: numpy_helper.to_array(i) for i in self.graph.initializer}
        self.consumers: dict[str, list] = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.outputs = {o.name for o in self.graph.output}
        self.new_constants: list = []
        self.count = 0
        self.folded = 0

    # === Matching ===

    def _is_phase_layer(self, node) -> bool:
        if node.op_type != "ConvTranspose" or node.input[1] not in self.constants:
            return False
        if len(node.input) > 2 and node.input[2] and node.input[2] not in self.constants:
            return False
        a = _attributes(node)
        return (
            list(a.get("strides", [1, 1])) == [2, 2]
            and list(a.get("kernel_shape", self.constants[node.input[1]].shape[2:])) == [4, 4]
            and list(a.get("pads", [0, 0, 0, 0])) == [1, 1, 1, 1]
            and list(a.get("dilations", [1, 1])) == [1, 1]
            and a.get("group", 1) == 1
            and not any(a.get("output_padding", []))
            and "output_shape" not in a
            and a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
            and self.constants[node.input[1]].ndim == 4
        )

    def _only_consumer(self, name: str):
        users = self.consumers.get(name, [])
        if len(users) != 1 or name in self.outputs:
            return None
        return users[0]

    def _per_channel(self, node, name: str, channels: int) -> np.ndarray | None:
        """A Mul or Add's constant operand as (channels,) when it is per channel in NCHW."""
        if node.op_type not in ("Mul", "Add") or len(node.input) != 2 or name not in node.input:
            return None
        other = node.input[1] if node.input[0] == name else node.input[0]
        if other not in self.constants:
            return None
        value = self.constants[other]
        if value.size == 1:
            return np.full(channels, value.reshape(()), value.dtype)
        shape = list(value.shape)
        if (
            len(shape) >= 3
            and shape[-2:] == [1, 1]
            and shape[-3] == channels
            and int(np.prod(shape[:-3])) == 1
        ):
            return value.reshape(channels)
        return None

    def chain(self, first):
        """[(kind, node, extra)] from `first` while the pattern holds: kind is "layer" (extra:
        the weight), "linear" (Mul/Add; extra: the per-channel constant) or "elementwise"."""
        steps, node, channels, current = [], first, None, first.input[0]
        while node is not None:
            if node.op_type == "ConvTranspose":
                if not self._is_phase_layer(node) or node.input[0] != current:
                    break
                w = self.constants[node.input[1]]
                if channels is not None and w.shape[0] != channels:
                    break
                steps.append(("layer", node, w))
                channels = w.shape[1]
            elif node.op_type in ELEMENTWISE and list(node.input) == [current]:
                steps.append(("elementwise", node, None))
            else:
                value = self._per_channel(node, current, channels) if steps else None
                if value is None:
                    break
                steps.append(("linear", node, value))
            current = node.output[0]
            node = self._only_consumer(current)
        return steps

    # === Writing ===

    def _constant(self, name: str, value: np.ndarray) -> str:
        self.new_constants.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def rewrite(self) -> onnx.ModelProto:
        chains, replaced, last = [], set(), {}
        for node in self.graph.node:
            if id(node) in replaced or not self._is_phase_layer(node):
                continue
            steps = self.chain(node)
            chains.append(steps)
            replaced.update(id(n) for _, n, _ in steps)
            last[id(steps[-1][1])] = steps
        if not chains:
            return self.model
        nodes = []
        for node in self.graph.node:  # a chain's nodes go where its last node was: its inputs exist there
            if id(node) in last:
                nodes.extend(self._write(last[id(node)], len(nodes)))
            elif id(node) not in replaced:
                nodes.append(node)
        return _with_nodes(self.model, nodes, self.new_constants)

    def _write(self, steps, serial: int) -> list:
        """The nodes that compute `steps`' last output from the first layer's input."""
        out_name = steps[-1][1].output[0]
        prefix = f"phases{serial}_"
        written: list = []
        names = iter(range(1 << 30))

        def fresh(tag):
            return f"{prefix}{tag}_{next(names)}"

        state = ("full", [steps[0][1].input[0]])  # ("full" | "pieces" | "packed", tensor names)
        pending: _Conv | None = None

        def flush():
            nonlocal pending, state
            if pending is None:
                return
            outs = []
            for i, (x, k, pads) in enumerate(zip(pending.inputs, pending.kernels, pending.pads, strict=True)):
                inputs = [x, self._constant(fresh("kernel"), k)]
                if not pending.summed or i == 0:
                    bias = pending.bias if pending.summed else pending.bias.reshape(4, -1)[i]
                    inputs.append(self._constant(fresh("bias"), bias))
                outs.append(fresh("conv"))
                written.append(helper.make_node("Conv", inputs, [outs[-1]], kernel_shape=[2, 2], pads=pads))
            if pending.summed:
                total = fresh("sum")
                written.append(helper.make_node("Sum", outs, [total]))
                state = ("packed", [total])
            else:
                state = ("pieces", outs)
            pending = None

        def to_full():
            nonlocal state
            kind, tensors = state
            if kind == "pieces":
                packed = fresh("concat")
                written.append(helper.make_node("Concat", tensors, [packed], axis=1))
                full = fresh("interleaved")
                written.append(helper.make_node("DepthToSpace", [packed], [full], blocksize=2, mode="DCR"))
                state = ("full", [full])
            elif kind == "packed":
                full = fresh("interleaved")
                written.append(helper.make_node("DepthToSpace", tensors, [full], blocksize=4, mode="DCR"))
                state = ("full", [full])

        for kind, node, extra in steps:
            if kind == "layer":
                flush()
                w = extra.astype(np.float32)
                c_out = w.shape[1]
                bias = np.zeros(c_out, np.float32)
                if len(node.input) > 2 and node.input[2]:
                    bias = self.constants[node.input[2]].astype(np.float32).reshape(c_out)
                if state[0] == "packed":
                    to_full()
                if state[0] == "full":
                    pads = [[1 - a, 1 - b, a, b] for a, b in PIECES]
                    pending = _Conv([state[1][0]] * 4, _first_layer(w), pads, np.tile(bias, 4), summed=False)
                else:  # four pieces in: one Conv each, all 16 phases out, summed
                    pads = [[a, b, 1 - a, 1 - b] for a, b in PIECES]
                    pending = _Conv(list(state[1]), _second_layer(w), pads, np.tile(bias, 16), summed=True)
                self.count += 1
            elif kind == "linear":
                repeat = 4 if not pending or not pending.summed else 16
                if pending is not None:  # fold into the Convs just written
                    value = np.tile(extra.astype(np.float32), repeat)
                    if node.op_type == "Mul":
                        pending.kernels = [k * _rows(value, pending, k) for k in pending.kernels]
                        pending.bias = pending.bias * value
                    else:
                        pending.bias = pending.bias + value
                    self.folded += 1
                    continue
                per = 16 if state[0] == "packed" else 1
                value = np.tile(extra.astype(np.float32), per).reshape(-1, 1, 1)
                constant = self._constant(fresh("channelwise"), value)
                state = (
                    state[0],
                    [self._apply(node.op_type, [t, constant], {}, written, fresh) for t in state[1]],
                )
            else:
                flush()
                attributes = _attributes(node)
                state = (
                    state[0],
                    [self._apply(node.op_type, [t], attributes, written, fresh) for t in state[1]],
                )
        flush()
        to_full()
        written[-1].output[0] = out_name  # the last node wrote the interleaved result
        return written

    def _apply(self, op: str, inputs: list, attributes: dict, written: list, fresh) -> str:
        out = fresh(op.lower())
        written.append(helper.make_node(op, inputs, [out], **attributes))
        return out


def _rows(value: np.ndarray, pending: _Conv, kernel: np.ndarray) -> np.ndarray:
    """A per-output-channel factor shaped to multiply a Conv kernel's rows."""
    if pending.summed:
        return value.reshape(-1, 1, 1, 1)
    c_out = kernel.shape[0]
    return value[:c_out].reshape(-1, 1, 1, 1)  # every piece has the same per-channel factor


def _drop_layout_transpose(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    """MatMul -> Reshape to NHWC -> per-channel Mul/Add, Relu... -> Transpose to NCHW (how a
    generator's Dense layer feeds its first convolution) without the Transpose: the MatMul's
    columns are permuted so that the Reshape gives NCHW, and the Mul and Add before the first
    nonlinearity fold into its weights and a bias. Returns (model, transposes removed)."""
    graph = model.graph
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}
    plans, removed = {}, set()
    for node in graph.node:
        if node.op_type != "Transpose" or list(_attributes(node).get("perm", [])) != [0, 3, 1, 2]:
            continue
        steps, current = [], node.input[0]
        while current in producer and producer[current].op_type != "Reshape":
            step = producer[current]
            if len(consumers.get(current, [])) != 1 or current in outputs:
                break
            if step.op_type in ELEMENTWISE and len(step.input) == 1:
                steps.append((step, None))
                current = step.input[0]
            elif step.op_type in ("Mul", "Add") and len(step.input) == 2:
                operand = step.input[1] if step.input[0] in producer else step.input[0]
                data = step.input[0] if operand == step.input[1] else step.input[1]
                if operand not in constants:
                    break
                steps.append((step, constants[operand]))
                current = data
            else:
                break
        reshape = producer.get(current)
        if reshape is None or reshape.op_type != "Reshape" or len(consumers.get(current, [])) != 1:
            continue
        matmul = producer.get(reshape.input[0])
        shape = constants.get(reshape.input[1])
        if matmul is None or matmul.op_type != "MatMul" or matmul.input[1] not in constants:
            continue
        if len(consumers.get(reshape.input[0], [])) != 1 or shape is None or len(shape) != 4:
            continue
        weight = constants[matmul.input[1]]
        h, w, c = (int(d) for d in shape[1:])
        if weight.ndim != 2 or weight.shape[1] != h * w * c or min(h, w, c) < 1:
            continue
        per_channel = [v is None or v.size == 1 or (v.size == c and v.shape[-1] == c) for _, v in steps]
        if not all(per_channel):
            continue
        plans[id(node)] = (node, reversed(steps), reshape, matmul, weight, (h, w, c))
        removed.update(id(n) for n in (node, reshape, matmul, *(step for step, _ in steps)))
    if not plans:
        return model, 0
    new_constants, nodes = [], []
    for node in graph.node:
        if id(node) in plans:
            transpose, steps, reshape, matmul, weight, (h, w, c) = plans[id(node)]
            k = weight.shape[0]
            weight = weight.reshape(k, h, w, c).transpose(0, 3, 1, 2).reshape(k, c * h * w).astype(np.float32)
            bias, linear, tail = np.zeros(c * h * w, np.float32), True, []
            for step, value in steps:
                if value is not None and linear:
                    expanded = np.repeat(np.broadcast_to(value.reshape(-1), (c,)), h * w).astype(np.float32)
                    if step.op_type == "Mul":
                        weight, bias = weight * expanded, bias * expanded
                    else:
                        bias = bias + expanded
                    continue
                linear = False
                tail.append((step, value))
            name = f"{transpose.output[0]}_nchw"
            new_constants += [
                numpy_helper.from_array(weight, f"{name}_weight"),
                numpy_helper.from_array(bias, f"{name}_bias"),
                numpy_helper.from_array(np.array([-1, c, h, w], np.int64), f"{name}_shape"),
            ]
            nodes.append(helper.make_node("MatMul", [matmul.input[0], f"{name}_weight"], [f"{name}_matmul"]))
            nodes.append(helper.make_node("Add", [f"{name}_matmul", f"{name}_bias"], [f"{name}_dense"]))
            current = f"{name}_reshaped"
            nodes.append(helper.make_node("Reshape", [f"{name}_dense", f"{name}_shape"], [current]))
            for i, (step, value) in enumerate(tail):
                out = f"{name}_{i}"
                if value is None:
                    nodes.append(helper.make_node(step.op_type, [current], [out], **_attributes(step)))
                else:
                    constant = np.broadcast_to(value.reshape(-1), (c,)).reshape(c, 1, 1).astype(np.float32)
                    new_constants.append(numpy_helper.from_array(np.ascontiguousarray(constant), f"{out}_c"))
                    nodes.append(helper.make_node(step.op_type, [current, f"{out}_c"], [out]))
                current = out
            nodes[-1].output[0] = transpose.output[0]  # the last node writes what the Transpose wrote
        elif id(node) not in removed:
            nodes.append(node)
    return _with_nodes(model, nodes, new_constants), len(plans)


def _with_nodes(model: onnx.ModelProto, nodes: list, new_constants: list) -> onnx.ModelProto:
    """`model` with these nodes, its initializers that they still use and `new_constants`."""
    used = {name for node in nodes for name in node.input}
    graph = helper.make_graph(
        nodes,
        model.graph.name,
        list(model.graph.input),
        list(model.graph.output),
        [i for i in [*model.graph.initializer, *new_constants] if i.name in used],
    )
    rewritten = helper.make_model(graph, opset_imports=model.opset_import, producer_name=model.producer_name)
    rewritten.ir_version = model.ir_version
    return rewritten


def rewrite(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict]:
    """The model with its stride-2, kernel-4 transposed convolutions rewritten as phase
    convolutions and the layout Transpose before them removed, and what was done:
    {"layers": n, "folded": Mul/Add folded into Convs, "transposes_removed": n}."""
    rewriter = _Rewriter(model)
    rewritten = rewriter.rewrite()
    info = {"layers": rewriter.count, "folded": rewriter.folded, "transposes_removed": 0}
    if rewriter.count:  # the Transpose fed a ConvTranspose that is now a Conv: NCHW either way
        rewritten, info["transposes_removed"] = _drop_layout_transpose(rewritten)
    return rewritten, info
