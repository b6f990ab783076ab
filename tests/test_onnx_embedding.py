"""The ONNX copy of the model: same vectors as sentence-transformers, checked, and chosen safely."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import Engine, EngineConfig
from index.embedding.embedder import SentenceTransformerEmbedder, bundled_model_path
from index.embedding.onnx_copy import (
    GRAPH,
    RECORD,
    UNSUPPORTED,
    ExportUnsupported,
    OnnxEmbedder,
    export_folder,
    open_export,
)
from index.embedding.onnx_export import _eager_attention, export, unsupported_reason
from index.embedding.runtime import load_embedder
from index.heads import load_heads
from tests.helpers import REPO

TEXTS = [
    "How many people did the NYPD lock up in 2016?",
    "Who is the head of the NYPD sergeants union?",
    "",
    "  padded with spaces  ",
    "ÀÉÎ Ünïcödé — “typographic” quotes, emoji 🎉 and 中文.",
    "A long paragraph that goes on. " * 120,  # past the model's 256-token limit: truncated alike
    "Why?",
]


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Path:
    cache = tmp_path_factory.mktemp("models")
    export(embedder, cache)
    return cache


def test_the_export_gives_the_models_vectors(model_cache: Path, embedder: SentenceTransformerEmbedder) -> None:
    fast = open_export(model_cache, embedder.model_id)
    assert isinstance(fast, OnnxEmbedder)
    assert (fast.model_id, fast.dimension) == (embedder.model_id, embedder.dimension)
    expected = embedder.embed(TEXTS, batch_size=len(TEXTS))
    assert np.abs(fast.embed(TEXTS, batch_size=len(TEXTS)) - expected).max() < 1e-5
    one_by_one = np.vstack([fast.embed([t]) for t in TEXTS])
    assert np.abs(one_by_one - expected).max() < 1e-5
    many = [f"{text} ({n})" for n in range(6) for text in TEXTS]  # several chunks, each padded on its own
    assert np.abs(fast.embed(many, batch_size=len(many)) - embedder.embed(many, batch_size=len(many))).max() < 1e-5
    record = json.loads((export_folder(model_cache, embedder.model_id) / RECORD).read_text())
    assert record["max_length"] == 256 and record["inputs"] == ["input_ids", "token_type_ids", "attention_mask"]


def test_the_bundled_models_graph_is_fused_and_padding_free(
    model_cache: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """Both rewrites passed the same check; a silent fall-back to an earlier graph would show here."""
    import onnx

    graph = onnx.load(str(export_folder(model_cache, embedder.model_id) / GRAPH)).graph
    operators = {node.op_type for node in graph.node}
    assert {"EmbedLayerNormalization", "MultiHeadAttention", "LayerNormalization", "NonZero"} <= operators
    assert "Attention" not in operators and "SkipLayerNormalization" not in operators


def test_export_traces_eager_attention_and_puts_the_models_back(embedder: SentenceTransformerEmbedder) -> None:
    transformer = embedder._model[0].auto_model
    before = transformer.config._attn_implementation
    assert before != "eager"  # else the switch below is not exercised
    with _eager_attention(transformer):
        assert transformer.config._attn_implementation == "eager"
    assert transformer.config._attn_implementation == before


def copy_export(model_cache: Path, model_id: str, tmp_path: Path) -> Path:
    shutil.copytree(export_folder(model_cache, model_id), export_folder(tmp_path, model_id))
    return export_folder(tmp_path, model_id)


def test_a_damaged_export_is_not_used(
    model_cache: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    folder = copy_export(model_cache, embedder.model_id, tmp_path)
    record = json.loads((folder / RECORD).read_text())
    record["probe_vectors"][0][0] += 0.01  # the graph no longer gives what the model gave
    (folder / RECORD).write_text(json.dumps(record))
    assert open_export(tmp_path, embedder.model_id) is None
    assert "no longer gives the model's vectors" in caplog.text

    graph = (folder / GRAPH).read_bytes()
    (folder / GRAPH).write_bytes(graph[: len(graph) // 2])  # truncated file
    assert open_export(tmp_path, embedder.model_id) is None

    (folder / RECORD).write_text("{not json")
    assert open_export(tmp_path, embedder.model_id) is None
    assert open_export(tmp_path / "nowhere", embedder.model_id) is None


def test_an_export_answers_only_for_its_own_model(
    model_cache: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    folder = copy_export(model_cache, embedder.model_id, tmp_path)
    folder.rename(export_folder(tmp_path, "someone/else"))
    assert open_export(tmp_path, "someone/else") is None


def test_auto_runtime_opens_the_export_without_torch(
    model_cache: Path, embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_torch(*args: object, **kwargs: object) -> None:
        raise AssertionError("the torch model was loaded although the export is there")

    monkeypatch.setattr("index.embedding.runtime.SentenceTransformerEmbedder", no_torch)
    assert isinstance(load_embedder(EngineConfig(model_cache_dir=model_cache)), OnnxEmbedder)


def test_torch_runtime_and_gpu_devices_skip_the_export(model_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[tuple[str, str]] = []
    monkeypatch.setattr(
        "index.embedding.runtime.SentenceTransformerEmbedder",
        lambda model, device: loaded.append((model, device)) or "torch model",
    )
    assert load_embedder(EngineConfig(model_cache_dir=model_cache, runtime="torch")) == "torch model"
    assert load_embedder(EngineConfig(model_cache_dir=model_cache, device="cuda")) == "torch model"
    assert [device for _, device in loaded] == ["cpu", "cuda"]
    with pytest.raises(ValueError, match="runtime"):
        load_embedder(EngineConfig(runtime="tensorflow"))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.model  # loads and exports the bundled model itself
def test_first_start_exports_then_later_starts_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "models"
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    first = load_embedder(EngineConfig(model_cache_dir=cache), progress=True)
    assert isinstance(first, OnnxEmbedder)
    assert (
        f"Saving a fast copy of the embedding model in {cache} (once" in terminal.getvalue()
    )  # why this start is slow
    assert sorted(p.name for p in cache.iterdir()) == [
        export_folder(cache, first.model_id).name
    ]  # no temporary folder left
    assert isinstance(open_export(cache, first.model_id), OnnxEmbedder)


def small_random_model(folder: Path, architecture: str) -> Path:
    """A two-layer sentence-transformers model of another architecture, made offline from a
    config (random weights) with the bundled model's tokenizer, which makes token_type_ids."""
    import torch
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # releases before the modules moved
        from sentence_transformers.models import Pooling, Transformer
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(bundled_model_path()))
    sizes = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128}
    extra = {
        "roberta": {"pad_token_id": 0, "type_vocab_size": 1},
        "distilbert": {"dim": 64, "n_layers": 2, "n_heads": 4, "hidden_dim": 128},
    }
    config = AutoConfig.for_model(
        architecture,
        vocab_size=tokenizer.vocab_size,
        max_position_embeddings=300,
        **sizes,
        **extra.get(architecture, {}),
    )
    AutoModel.from_config(config).save_pretrained(folder / "hf")
    tokenizer.save_pretrained(folder / "hf")
    model = SentenceTransformer(
        modules=[Transformer(str(folder / "hf"), max_seq_length=128), Pooling(64)], device="cpu"
    )
    model.save(str(folder / "st"))
    return folder / "st"


@pytest.mark.parametrize(
    ("architecture", "padding_free"), [("bert", True), ("roberta", True), ("distilbert", True), ("mpnet", False)]
)
def test_other_architectures_export_with_the_models_vectors(
    architecture: str, padding_free: bool, tmp_path: Path
) -> None:
    """A self-hoster may name any model: the copy must give its vectors, padding-free where the
    rewrite knows the fused graph (MPNet's relative attention is not fused, so it is not)."""
    import onnx

    source = SentenceTransformerEmbedder(str(small_random_model(tmp_path, architecture)), "cpu")
    fast = export(source, tmp_path / "models")
    texts = [*TEXTS, *(f"{text} and more ({n})" for n in range(3) for text in TEXTS)]
    assert np.abs(fast.embed(texts, batch_size=len(texts)) - source.embed(texts, batch_size=len(texts))).max() < 1e-5
    operators = {node.op_type for node in onnx.load(str(fast.folder / GRAPH)).graph.node}
    assert ("NonZero" in operators) == padding_free


@pytest.fixture(scope="module")
def prompted_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled model told to prefix every text with a prompt, which the export does not carry."""
    folder = tmp_path_factory.mktemp("prompted") / "model"
    shutil.copytree(bundled_model_path(), folder)
    config = folder / "config_sentence_transformers.json"
    raw = json.loads(config.read_text())
    raw.update({"prompts": {"query": "query: "}, "default_prompt_name": "query"})
    config.write_text(json.dumps(raw))
    return folder


@pytest.mark.model  # a prompted copy of the bundled model
def test_a_model_the_export_cannot_carry_runs_on_torch_and_is_not_retried(
    prompted_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = EngineConfig(model=str(prompted_model), model_cache_dir=tmp_path)
    first = load_embedder(config)
    assert isinstance(first, SentenceTransformerEmbedder)
    assert "default prompt" in (unsupported_reason(tmp_path, first.model_id) or "")
    assert (export_folder(tmp_path, first.model_id) / UNSUPPORTED).is_file()

    def no_retry(*args: object) -> None:
        raise AssertionError("the export was tried again")

    monkeypatch.setattr("index.embedding.runtime.export", no_retry)
    assert isinstance(load_embedder(config), SentenceTransformerEmbedder)


def test_dead_exports_leftovers_are_removed(
    model_cache: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    folder = export_folder(tmp_path, embedder.model_id)
    leftover = tmp_path / f".{folder.name}.999999999-dead.tmp"
    leftover.mkdir(parents=True)
    export(embedder, tmp_path)
    assert not leftover.exists() and (folder / RECORD).is_file()


def test_answers_are_the_same_with_either_runtime(
    engine_config: EngineConfig, engine: Engine, model_cache: Path, embedder: SentenceTransformerEmbedder
) -> None:
    fast = open_export(model_cache, embedder.model_id)
    assert fast is not None
    onnx_engine = Engine.open(engine_config, build="never", embedder=fast)
    questions = [
        "How many people did the NYPD lock up in 2016?",
        "What did Preet Bharara tweet?",
        "What does Mullins hope the mayor will do?",
        "Who won the 2018 World Cup?",
    ]
    for torch_answer, onnx_answer in zip(engine.answer_many(questions), onnx_engine.answer_many(questions)):
        assert not isinstance(torch_answer, Exception) and not isinstance(onnx_answer, Exception)
        assert [(q.file, q.paragraph, q.start, q.end) for q in onnx_answer.quotes] == [
            (q.file, q.paragraph, q.start, q.end) for q in torch_answer.quotes
        ]
        assert onnx_answer.confidence == pytest.approx(torch_answer.confidence, abs=1e-4)


ASK_WITHOUT_TORCH = """
import sys
from bot.settings import load_settings
from index import Engine
engine = Engine.open(load_settings().engine_config(), build="never")
answer = engine.answer("How many people did the NYPD lock up in 2016?")
print(type(engine.embedder).__name__, "torch" in sys.modules, answer.quotes[0].text)
"""


def test_a_process_with_the_export_answers_without_importing_torch(
    engine_config: EngineConfig, model_cache: Path, tmp_path: Path
) -> None:
    shutil.copytree(engine_config.corpus_dir, tmp_path / "corpus")
    shutil.copytree(engine_config.index_dir, tmp_path / ".storybot" / "index")
    load_heads(EngineConfig(model_cache_dir=model_cache))  # the heads' ONNX copies, made as a first start makes them
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYBOT_")}
    env.update({"PYTHONPATH": str(REPO), "STORYBOT_MODEL_CACHE_DIR": str(model_cache)})
    result = subprocess.run(
        [sys.executable, "-c", ASK_WITHOUT_TORCH],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip() == "OnnxEmbedder False In 2016 we locked up over 1,000 people in over 100 gang takedowns."
    )


def test_a_library_surprise_during_export_is_remembered_not_raised(
    embedder: SentenceTransformerEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def changed_api(*args: object, **kwargs: object) -> None:
        raise RuntimeError("preprocess() changed in a new sentence-transformers")

    monkeypatch.setattr(embedder._model, "preprocess", changed_api)
    with pytest.raises(ExportUnsupported, match="RuntimeError: preprocess"):
        export(embedder, tmp_path)
    assert "RuntimeError" in (unsupported_reason(tmp_path, embedder.model_id) or "")
    assert [p.name for p in tmp_path.iterdir()] == [
        export_folder(tmp_path, embedder.model_id).name
    ]  # no temporary folder left
