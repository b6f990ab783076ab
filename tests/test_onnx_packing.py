"""The padding-free rewrite: same outputs on small fused encoders, and graphs it does not know left alone.

The encoders here are built by hand in the shape ONNX Runtime's fusion gives a BERT-like model
(random weights, two layers), so every case runs in milliseconds; the bundled model's packed
graph is checked against sentence-transformers in test_onnx_embedding.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from index.embedding.onnx_packing import pack_tokens

HIDDEN, HEADS, FEED, VOCAB, POSITIONS = 8, 2, 16, 30, 12


def encoder(
    *,
    layers: int = 2,
    pooling: str = "mean",
    embedding: str = "fused",
    attention_attributes: dict[str, Any] | None = None,
) -> onnx.ModelProto:
    """A fused BERT-like encoder: an embedding layer (EmbedLayerNormalization as for BERT, or
    Gathers, Adds and a LayerNormalization as for RoBERTa), then Attention, MatMul,
    SkipLayerNormalization and BiasGelu per layer, then pooling over the mask."""
    rng = np.random.default_rng(7)
    weights: list[onnx.TensorProto] = []

    def weight(name: str, *shape: int, scale: float = 0.5) -> str:
        weights.append(numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name))
        return name

    nodes = [
        helper.make_node("Cast", ["input_ids"], ["ids32"], to=TensorProto.INT32),
        helper.make_node("Cast", ["token_type_ids"], ["types32"], to=TensorProto.INT32),
        helper.make_node("Cast", ["attention_mask"], ["mask32"], to=TensorProto.INT32),
    ]
    word, position, segment = (
        weight("word", VOCAB, HIDDEN),
        weight("position", POSITIONS, HIDDEN),
        weight("segment", 2, HIDDEN),
    )
    gamma, beta = weight("embed_gamma", HIDDEN), weight("embed_beta", HIDDEN)
    if embedding == "fused":
        nodes.append(
            helper.make_node(
                "EmbedLayerNormalization",
                ["ids32", "types32", word, position, segment, gamma, beta, "mask32"],
                ["hidden0", "mask_index"],
                domain="com.microsoft",
                epsilon=1e-12,
            )
        )
    else:
        weights.append(numpy_helper.from_array(np.array([1], np.int64), "axis1_"))
        nodes += [
            helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
            helper.make_node("Gather", ["ids_shape", "one"], ["tokens"], axis=0),
            helper.make_node("Range", ["zero", "tokens", "one"], ["positions"]),
            helper.make_node("Gather", [word, "input_ids"], ["words"]),
            helper.make_node("Gather", [segment, "token_type_ids"], ["segments"]),
            helper.make_node("Gather", [position, "positions"], ["placed"]),
            helper.make_node("Add", ["words", "segments"], ["summed0"]),
            helper.make_node("Add", ["summed0", "placed"], ["summed1"]),
            helper.make_node("LayerNormalization", ["summed1", gamma, beta], ["hidden0"], axis=-1, epsilon=1e-12),
            helper.make_node("ReduceSum", ["mask32", "axis1_"], ["mask_index"], keepdims=0),
        ]
        weights += [
            numpy_helper.from_array(np.array(1, np.int64), "one"),
            numpy_helper.from_array(np.array(0, np.int64), "zero"),
        ]
    hidden = "hidden0"
    for layer in range(layers):
        nodes += [
            helper.make_node(
                "Attention",
                [
                    hidden,
                    weight(f"qkv{layer}", HIDDEN, 3 * HIDDEN),
                    weight(f"qkv_bias{layer}", 3 * HIDDEN),
                    "mask_index",
                ],
                [f"attended{layer}"],
                domain="com.microsoft",
                num_heads=HEADS,
                **(attention_attributes or {}),
            ),
            helper.make_node(
                "MatMul", [f"attended{layer}", weight(f"out{layer}", HIDDEN, HIDDEN)], [f"projected{layer}"]
            ),
            helper.make_node(
                "SkipLayerNormalization",
                [
                    f"projected{layer}",
                    hidden,
                    weight(f"g1_{layer}", HIDDEN),
                    weight(f"b1_{layer}", HIDDEN),
                    weight(f"ob{layer}", HIDDEN),
                ],
                [f"normed{layer}"],
                domain="com.microsoft",
                epsilon=1e-12,
            ),
            helper.make_node("MatMul", [f"normed{layer}", weight(f"w_up{layer}", HIDDEN, FEED)], [f"up{layer}"]),
            helper.make_node(
                "BiasGelu", [f"up{layer}", weight(f"up_bias{layer}", FEED)], [f"gelu{layer}"], domain="com.microsoft"
            ),
            helper.make_node("MatMul", [f"gelu{layer}", weight(f"w_down{layer}", FEED, HIDDEN)], [f"down{layer}"]),
            helper.make_node(
                "SkipLayerNormalization",
                [f"down{layer}", f"normed{layer}", weight(f"g2_{layer}", HIDDEN), weight(f"b2_{layer}", HIDDEN)],
                [f"hidden{layer + 1}"],
                domain="com.microsoft",
                epsilon=1e-12,
            ),
        ]
        hidden = f"hidden{layer + 1}"
    axis1 = numpy_helper.from_array(np.array([1], np.int64), "axis1")
    axis2 = numpy_helper.from_array(np.array([2], np.int64), "axis2")
    if pooling == "mean":
        nodes += [
            helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["maskf", "axis2"], ["mask3"]),
            helper.make_node("Mul", [hidden, "mask3"], ["masked"]),
            helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
            helper.make_node("ReduceSum", ["mask3", "axis1"], ["counts"], keepdims=0),
            helper.make_node("Div", ["summed", "counts"], ["sentence_embedding"]),
        ]
    else:  # the first token
        nodes.append(
            helper.make_node(
                "Gather",
                [hidden, numpy_helper.from_array(np.array(0, np.int64), "first").name],
                ["sentence_embedding"],
                axis=1,
            )
        )
        weights.append(numpy_helper.from_array(np.array(0, np.int64), "first"))
    graph = helper.make_graph(
        nodes,
        "encoder",
        [
            helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"])
            for name in ("input_ids", "token_type_ids", "attention_mask")
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", HIDDEN])],
        [*weights, axis1, axis2],
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )


def run(model: onnx.ModelProto, lengths: list[int]) -> np.ndarray:
    """The model on a right-padded batch of texts with these token counts."""
    rng = np.random.default_rng(len(lengths))
    width = max(lengths)
    mask = (np.arange(width)[None, :] < np.array(lengths)[:, None]).astype(np.int64)
    ids = rng.integers(1, VOCAB, size=mask.shape) * mask
    types = (rng.integers(0, 2, size=mask.shape) * mask).astype(np.int64)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": ids, "token_type_ids": types, "attention_mask": mask})[0]


@pytest.mark.parametrize("pooling", ["mean", "first"])
@pytest.mark.parametrize("lengths", [[5, 2, 12, 1, 7], [4], [3, 3, 3], [12, 1]])
def test_the_packed_graph_gives_the_same_vectors(pooling: str, lengths: list[int]) -> None:
    model = encoder(pooling=pooling)
    packed = pack_tokens(model)
    assert packed is not None
    onnx.checker.check_model(packed)
    assert np.abs(run(packed, lengths) - run(model, lengths)).max() < 1e-5


def test_the_packed_graph_keeps_inputs_and_outputs_and_drops_unused_weights() -> None:
    model = encoder()
    packed = pack_tokens(model)
    assert packed is not None
    assert [i.name for i in packed.graph.input] == [i.name for i in model.graph.input]
    assert [o.name for o in packed.graph.output] == [o.name for o in model.graph.output]
    used = {name for node in packed.graph.node for name in node.input}
    assert all(i.name in used for i in packed.graph.initializer)  # Attention's joined Q|K|V weights are gone
    operators = [n.op_type for n in packed.graph.node]
    assert operators.count("MultiHeadAttention") == 2 and "Attention" not in operators
    assert operators.count("LayerNormalization") == 4 and "SkipLayerNormalization" not in operators
    assert len({n.name for n in packed.graph.node if n.name}) == len([n for n in packed.graph.node if n.name])


def test_attention_with_settings_it_does_not_carry_is_left_alone() -> None:
    assert pack_tokens(encoder(attention_attributes={"unidirectional": 1})) is None


def test_a_graph_without_an_attention_mask_input_or_fused_attention_is_left_alone() -> None:
    model = encoder()
    renamed = onnx.ModelProto()
    renamed.CopyFrom(model)
    renamed.graph.input[2].name = "mask"
    assert pack_tokens(renamed) is None
    unfused = onnx.ModelProto()
    unfused.CopyFrom(model)
    for node in unfused.graph.node:
        if node.op_type == "Attention":
            node.op_type = "SomethingElse"
    assert pack_tokens(unfused) is None


def test_packing_starts_after_whatever_embedding_layer_feeds_attention() -> None:
    """RoBERTa's fused graph has no EmbedLayerNormalization: its embeddings end in a plain
    LayerNormalization, and its attention mask comes from a ReduceSum of the mask."""
    model = encoder(embedding="plain")
    assert "EmbedLayerNormalization" not in {n.op_type for n in model.graph.node}
    packed = pack_tokens(model)
    assert packed is not None
    for lengths in ([5, 2, 12, 1, 7], [3]):
        assert np.abs(run(packed, lengths) - run(model, lengths)).max() < 1e-5


def test_a_per_token_operator_with_an_unexpected_operand_is_left_alone() -> None:
    model = encoder(layers=1)
    for node in model.graph.node:
        if node.op_type == "BiasGelu":
            node.input[1] = "attention_mask"  # not a weight: the rewrite cannot tell what it does per token
    assert pack_tokens(model) is None
