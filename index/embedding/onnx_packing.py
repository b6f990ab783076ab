"""Run a fused BERT-like graph on the batch's real tokens only, not on its padding.

A batch is padded to its longest text, yet everything in an encoder layer but attention treats
each token on its own: the matrix products, layer norms and GELU. This rewrite gathers the real
tokens of the whole batch into one (1 × tokens × hidden) tensor after the embedding layer, runs
those operators on it, and spreads the tokens back out to (batch × longest) only where a text's
tokens meet each other: inside attention (ONNX Runtime's MultiHeadAttention with a key padding
mask) and at pooling. Its skip-and-normalise steps become an Add and a LayerNormalization, whose
CPU kernels are faster than the fused one. The graph's inputs and outputs stay as they were.

It knows the graph ONNX Runtime's fusion makes of a BERT-like encoder (BERT, DistilBERT,
RoBERTa and their kin): an embedding layer, then Attention, MatMul, SkipLayerNormalization and
GELU nodes. Packing starts at the tensor the first Attention reads. For any other graph
`pack_tokens` returns None, and the caller keeps a rewrite only if it still gives the model's
vectors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MASK_INPUT = "attention_mask"
PER_TOKEN = frozenset({"MatMul", "Add", "SkipLayerNormalization", "LayerNormalization", "BiasGelu", "FastGelu", "Gelu"})
"""Operators that treat each token alone when their other operands are constant weights."""
ATTENTION_ATTRIBUTES = frozenset({"num_heads", "mask_filter_value", "scale"})
"""Attention attributes that MultiHeadAttention takes as they are; any other means no rewrite."""
PREFIX = "storybot_pack"
SKIP_NORM_EPSILON = 1e-12
"""SkipLayerNormalization's epsilon when the node does not set one (ONNX Runtime's default)."""
SKIP_NORM_FUSION = "SkipLayerNormFusion"
"""The session optimizer that would fuse Add + LayerNormalization back; sessions of a packed graph disable it."""


def pack_tokens(model: Any) -> Any | None:
    """A copy of `model` (an onnx.ModelProto) that skips padding, or None if its shape is unknown."""
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    if MASK_INPUT not in {i.name for i in graph.input}:
        return None
    nodes = list(graph.node)
    constants = {i.name: tuple(int(d) for d in i.dims) for i in graph.initializer}
    attention = [n for n in nodes if n.op_type == "Attention" and n.domain == "com.microsoft"]
    weights = constants.get(attention[0].input[1]) if attention and len(attention[0].input) > 1 else None
    if weights is None or len(weights) != 2:
        return None
    hidden = attention[0].input[0]  # the embedding layer's output: where packing starts
    producers = [i for i, n in enumerate(nodes) if hidden in n.output]
    if len(producers) != 1 or nodes[producers[0]].output[0] != hidden:
        return None
    embedding = producers[0]
    region = _token_region(
        nodes, hidden, weights[0], attention[0].input[3] if len(attention[0].input) > 3 else "", constants
    )
    if region is None or region.tensors & {o.name for o in graph.output}:
        return None

    initializers = {i.name: i for i in graph.initializer}
    build = _Builder()
    rewritten: list[Any] = build.indices()
    unpacked: dict[str, str] = {}
    for i, node in enumerate(_copy(original) for original in nodes):
        if i == embedding:
            node.output[0] = build.name("embedded")
            rewritten += [node, *build.pack(node.output[0], hidden, region.widths[hidden])]
        elif i in region.attention:
            rewritten += build.attention(node, numpy_helper.to_array(initializers[node.input[1]]))
        elif i in region.consumers and node.op_type == "SkipLayerNormalization":
            rewritten += build.add_and_normalise(node)
        else:
            for j, name in enumerate(node.input):
                if name in region.tensors and i not in region.consumers:
                    if name not in unpacked:  # spread out once, just before its first padded consumer
                        unpacked[name] = build.name("unpacked")
                        rewritten += build.unpack(name, unpacked[name], region.widths[name])
                    node.input[j] = unpacked[name]
            rewritten.append(node)

    packed = onnx.ModelProto()
    packed.CopyFrom(model)
    del packed.graph.node[:]
    del packed.graph.value_info[:]  # shapes recorded for the padded layout no longer hold
    del packed.graph.initializer[:]
    packed.graph.node.extend(rewritten)
    used = {name for node in rewritten for name in node.input}
    packed.graph.initializer.extend(i for i in [*graph.initializer, *build.constants] if i.name in used)
    if not any(o.domain == "com.microsoft" for o in packed.opset_import):
        packed.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    return packed


class _Region:
    """The tensors that hold one row per token, their width, and the nodes that consume them as such."""

    def __init__(self) -> None:
        self.tensors: set[str] = set()
        self.widths: dict[str, int] = {}
        self.consumers: set[int] = set()  # per-token nodes and Attention nodes, by position
        self.attention: set[int] = set()


def _token_region(
    nodes: list[Any], hidden: str, width: int, mask_index: str, constants: dict[str, tuple[int, ...]]
) -> _Region | None:
    """Follow the embedding layer's output through per-token operators; None at anything unknown.

    A consumer of another kind (pooling) ends the region: it gets the tensor padded again.
    """
    consumers: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        for name in node.input:
            consumers.setdefault(name, []).append(i)
    region = _Region()
    frontier = [(hidden, width)]
    while frontier:
        name, width = frontier.pop()
        if name in region.tensors:
            continue
        region.tensors.add(name)
        region.widths[name] = width
        for i in consumers.get(name, []):
            node = nodes[i]
            out_width: int | None
            if node.op_type == "Attention":
                if node.input[0] != name or not _packable_attention(node, mask_index, constants):
                    return None
                region.attention.add(i)
                out_width = constants[node.input[1]][1] // 3
            elif node.op_type in PER_TOKEN and node.domain in ("", "com.microsoft"):
                out_width = _per_token_width(node, name, width, constants)
                if out_width is None:
                    return None
            else:
                continue
            region.consumers.add(i)
            if any(out and consumers.get(out) for out in node.output[1:]):
                return None  # a side output (mean, variance, ...) used elsewhere
            frontier.append((node.output[0], out_width))
    for i in region.consumers - region.attention:  # every operand is a packed tensor or a weight
        if any(n and n not in region.tensors and n not in constants for n in nodes[i].input):
            return None
    return region


def _per_token_width(node: Any, name: str, width: int, constants: dict[str, tuple[int, ...]]) -> int | None:
    """The width of the node's output, if it treats each token of `name` alone; else None.

    Its other operands must be weights along the hidden size, or packed tensors (checked once
    the whole region is known).
    """
    if node.op_type == "MatMul":
        weights = constants.get(node.input[1])
        if node.input[0] != name or weights is None or len(weights) != 2 or weights[0] != width:
            return None
        return weights[1]
    if node.op_type == "LayerNormalization" and any(a.name == "axis" and a.i != -1 for a in node.attribute):
        return None
    for operand in node.input:
        shape = constants.get(operand) if operand else None
        if shape is not None and shape != (width,):
            return None
    return width


def _packable_attention(node: Any, mask_index: str, constants: dict[str, tuple[int, ...]]) -> bool:
    """Plain self-attention over the embedding layer's mask: no past state, no extra bias."""
    if node.domain != "com.microsoft" or len(node.input) != 4 or len(node.output) != 1 or node.input[3] != mask_index:
        return False
    if any(a.name not in ATTENTION_ATTRIBUTES for a in node.attribute):
        return False
    weights, bias = constants.get(node.input[1]), constants.get(node.input[2])
    return weights is not None and len(weights) == 2 and weights[1] % 3 == 0 and bias == (weights[1],)


def _copy(node: Any) -> Any:
    import onnx

    copy = onnx.NodeProto()
    copy.CopyFrom(node)
    return copy


class _Builder:
    """The rewrite's own nodes and constants, named so they cannot meet the graph's names."""

    def __init__(self) -> None:
        self.constants: list[Any] = []
        self._count = 0
        self._shapes: dict[int, tuple[str, str]] = {}

    def name(self, label: str) -> str:
        self._count += 1
        return f"{PREFIX}/{label}_{self._count}"

    def constant(self, label: str, values: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.name(label)
        self.constants.append(numpy_helper.from_array(values, name))
        return name

    def node(self, op: str, inputs: list[str], outputs: list[str], **attributes: Any) -> Any:
        from onnx import helper

        domain = attributes.pop("domain", "")
        return helper.make_node(op, inputs, outputs, name=self.name(op), domain=domain, **attributes)

    def indices(self) -> list[Any]:
        """Where each real token sits in the padded batch, and which real token fills each padded
        slot (padding takes token 0: attention masks it and pooling ignores it)."""
        from onnx import TensorProto

        self.axis0 = self.constant("axis0", np.array([0], np.int64))
        self.packed_index, self.padded_index = self.name("packed_index"), self.name("padded_index")
        self.mask_int32, self.batch_shape = self.name("mask_int32"), self.name("batch_shape")
        flat, present, counted = self.name("mask_flat"), self.name("present"), self.name("present_int64")
        nonzero, cumulative, before = self.name("nonzero"), self.name("cumulative"), self.name("before")
        zero, one = self.constant("zero", np.array(0, np.int64)), self.constant("one", np.array(1, np.int64))
        return [
            self.node("Reshape", [MASK_INPUT, self.constant("flat", np.array([-1], np.int64))], [flat]),
            self.node("Cast", [flat], [present], to=TensorProto.BOOL),
            self.node("NonZero", [present], [nonzero]),
            self.node("Squeeze", [nonzero, self.axis0], [self.packed_index]),
            self.node("Cast", [present], [counted], to=TensorProto.INT64),
            self.node("CumSum", [counted, zero], [cumulative]),
            self.node("Sub", [cumulative, one], [before]),
            self.node("Where", [present, before, zero], [self.padded_index]),
            self.node("Cast", [MASK_INPUT], [self.mask_int32], to=TensorProto.INT32),
            self.node("Shape", [MASK_INPUT], [self.batch_shape]),
        ]

    def _shape_of(self, width: int) -> tuple[str, str, list[Any]]:
        """(rows × width) and (batch × longest × width) target shapes, made once per width."""
        if width in self._shapes:
            return (*self._shapes[width], [])
        rows, padded = self.constant("rows", np.array([-1, width], np.int64)), self.name("padded_shape")
        self._shapes[width] = (rows, padded)
        width_constant = self.constant("width", np.array([width], np.int64))
        return rows, padded, [self.node("Concat", [self.batch_shape, width_constant], [padded], axis=0)]

    def pack(self, padded: str, packed: str, width: int) -> list[Any]:
        """(batch × longest × width) → (1 × tokens × width)."""
        rows, _, made = self._shape_of(width)
        flat, gathered = self.name("flat"), self.name("gathered")
        return [
            *made,
            self.node("Reshape", [padded, rows], [flat]),
            self.node("Gather", [flat, self.packed_index], [gathered], axis=0),
            self.node("Unsqueeze", [gathered, self.axis0], [packed]),
        ]

    def unpack(self, packed: str, padded: str, width: int) -> list[Any]:
        """(1 × tokens × width) → (batch × longest × width)."""
        rows, shape, made = self._shape_of(width)
        flat, gathered = self.name("flat"), self.name("gathered")
        return [
            *made,
            self.node("Reshape", [packed, rows], [flat]),
            self.node("Gather", [flat, self.padded_index], [gathered], axis=0),
            self.node("Reshape", [gathered, shape], [padded]),
        ]

    def add_and_normalise(self, node: Any) -> list[Any]:
        """SkipLayerNormalization(x, skip, gamma, beta?, bias?) as Adds and a LayerNormalization.

        ONNX Runtime's CPU kernel for the fused operator is slower on one long packed row than
        the two plain ones. (The session is told not to fuse them back: SKIP_NORM_FUSION.)
        """
        inputs = [*node.input, "", ""][:5]
        epsilon = next((a.f for a in node.attribute if a.name == "epsilon"), SKIP_NORM_EPSILON)
        total = self.name("skip_sum")
        nodes = [self.node("Add", inputs[:2], [total])]
        if inputs[4]:
            biased = self.name("skip_sum_biased")
            nodes.append(self.node("Add", [total, inputs[4]], [biased]))
            total = biased
        scale_and_shift = [inputs[2], inputs[3]] if inputs[3] else [inputs[2]]
        nodes.append(
            self.node("LayerNormalization", [total, *scale_and_shift], [node.output[0]], axis=-1, epsilon=epsilon)
        )
        return nodes

    def attention(self, node: Any, weights: np.ndarray) -> list[Any]:
        """Attention(x, W, b, mask): the Q, K and V products on the packed tokens, MultiHeadAttention
        on the padded batch (it adds the bias), and its output packed again.

        W is cut into its Q, K and V columns so that each product comes out ready to spread out,
        with no Split of the padded result.
        """
        part = weights.shape[1] // 3
        nodes: list[Any] = []
        padded = []
        for i, label in enumerate("qkv"):
            columns = self.constant(f"{label}_weights", np.ascontiguousarray(weights[:, i * part : (i + 1) * part]))
            projected, spread = self.name(f"{label}_projected"), self.name(f"{label}_padded")
            nodes += [self.node("MatMul", [node.input[0], columns], [projected]), *self.unpack(projected, spread, part)]
            padded.append(spread)
        attended = self.name("attended")
        attention = self.node(
            "MultiHeadAttention", [*padded, node.input[2], self.mask_int32], [attended], domain="com.microsoft"
        )
        attention.attribute.extend(node.attribute)
        return [*nodes, attention, *self.pack(attended, node.output[0], part)]
