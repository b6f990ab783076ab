"""The shipped heads for real: their ONNX copies against PyTorch, and what they add to answers."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index import Engine, EngineConfig
from index.heads import READER, RERANKER, load_heads
from index.heads.runtime import RECORD, export_folder, load_torch_head, open_head, pair_tokenizer
from index.heads.spec import head_spec
from index.types import ANSWERED
from tests.helpers import MODEL_CACHE

pytestmark = pytest.mark.model

CHAT_SET = Path(__file__).parent / "data" / "chat_bundled.jsonl"


@pytest.mark.parametrize("name", [RERANKER, READER])
def test_each_head_ships_small(name: str) -> None:
    spec = head_spec(name)
    assert spec is not None, f"the {name} head is not shipped"
    size = sum(p.stat().st_size for p in spec.folder.iterdir())
    assert size < 8_000_000
    assert not list(spec.folder.glob("*.bin")) and not list(spec.folder.glob("*.pt"))  # no pickles


@pytest.mark.parametrize("name", [RERANKER, READER])
def test_the_onnx_copy_gives_pytorchs_outputs_and_is_used_next_time(name: str) -> None:
    spec = head_spec(name)
    assert spec is not None
    copy = open_head(spec, MODEL_CACHE)  # made here, or by whichever test opened the heads first
    assert (export_folder(MODEL_CACHE, spec) / RECORD).is_file()
    tokenizer = pair_tokenizer(spec)
    feeds = tokenizer.feeds(
        tokenizer.encode(
            ["how many ppl were arrested", "Who said it?"],
            ["In 2016 we locked up over 1,000 people in over 100 gang takedowns.", "Nobody."],
        )
    )
    torch_outputs = load_torch_head(spec).run(feeds)
    for got, expected in zip(copy.run(feeds), torch_outputs):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert type(open_head(spec, MODEL_CACHE)).__name__ == "OnnxHead"


def test_a_damaged_copy_is_not_used(tmp_path: Path) -> None:
    spec = head_spec(RERANKER)
    assert spec is not None
    open_head(spec, MODEL_CACHE)
    shutil.copytree(export_folder(MODEL_CACHE, spec), export_folder(tmp_path, spec))
    (export_folder(tmp_path, spec) / "model.onnx").write_bytes(b"not a graph")
    again = open_head(spec, tmp_path)  # made again, and checked again
    assert type(again).__name__ == "OnnxHead"


@pytest.fixture(scope="module")
def engine_with_heads(engine_config: EngineConfig) -> Engine:
    return Engine.open(engine_config, build="never")


def test_the_bundled_story_is_answered_with_the_reranker(engine_with_heads: Engine) -> None:
    assert engine_with_heads.second_stage is not None
    answer = engine_with_heads.answer("How many people did the NYPD lock up in 2016?")
    assert answer.outcome == ANSWERED
    assert answer.quotes[0].paragraph == 5


def test_marks_lie_inside_their_quotes_and_some_answers_get_one(engine_with_heads: Engine) -> None:
    rows = [json.loads(line) for line in CHAT_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    answers = engine_with_heads.answer_many([str(row["question"]) for row in rows if not row.get("history")])
    marked = 0
    for answer in answers:
        assert not isinstance(answer, Exception)
        first = answer.quotes[0]
        if first.answer_span is not None:
            marked += 1
            assert answer.outcome == ANSWERED
            assert first.start <= first.answer_start < first.answer_end <= first.end  # type: ignore[operator]
            assert first.text[slice(*first.answer_span)].strip() == first.text[slice(*first.answer_span)]
    assert marked >= 5  # a mark only when sure, but not never


def test_the_reranker_can_be_switched_off(engine_config: EngineConfig) -> None:
    heads = load_heads(EngineConfig(reranker=False, model_cache_dir=MODEL_CACHE))
    assert heads.reranker is None and heads.reader is not None
    engine = Engine.open(replace(engine_config, reranker=False), build="never")
    assert engine.second_stage is None
    assert engine.answer("How many people did the NYPD lock up in 2016?").quotes[0].paragraph == 5
