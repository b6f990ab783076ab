"""Train the heads on the dev split: the cross-encoder reranker, the answer-span reader, and the
second stage of the scorer that weighs the reranker.

    python -m index.quality.train_heads --data ../shared/data/qa

Writes `index/heads/shipped/reranker/`, `index/heads/shipped/reader/` (LoRA adapters and task
layers on the bundled all-MiniLM-L6-v2, safetensors and JSON) and the `second` section of
`index/retrieval/weights.json`. Only `dev` files are read; the seed is fixed.

1. The shipped first stage ranks every dev question's candidates: SQuAD 1.1 dev, and SQuAD 2.0
   dev with its unanswerable questions and with answerable questions asked of another story.
2. A reranker and a reader are trained on the stories of one fold only and score the other fold,
   which they never saw. The second stage's ranker and judge, and the margin the reader needs
   before it marks words, are fitted on those scores: they weigh the heads as the heads do on new
   stories, not as they do on questions they were trained on.
3. Those heads ship, not heads trained again on every story: a head trained on more data scores
   on another scale, and the judge's threshold and the mark margin fitted above would no longer
   hold for it.

With `--work DIR` each finished stage is kept in DIR, and the same command resumes there.

The reranker is trained with sentence-transformers' cross-encoder trainer (binary cross-entropy:
the gold sentence against the first stage's best wrong ones; unanswerable questions have no gold
sentence, so the reranker also learns when none answers), the reader with transformers' trainer
on SQuAD's gold answer spans. Both train LoRA adapters through peft.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.config import DEFAULT_MODEL
from index.corpus.sentences import split_sentences
from index.embedding.embedder import SentenceTransformerEmbedder
from index.heads.reader import AnswerReader
from index.heads.reranker import Reranker
from index.heads.runtime import base_model_path, open_head, pair_tokenizer
from index.heads.spec import head_spec, shipped_folder
from index.quality.candidates import Asked, ask_candidates, fold_of
from index.quality.evaluate import select_questions
from index.quality.qa import QASet, load_qa_set
from index.quality.train import TARGET_RECALL, fit_monotone_confidence, pick_floor, pick_threshold
from index.retrieval.features import (
    RERANKED_CONFIDENCE_FEATURES,
    best_rows,
    confidence_features,
    cross_evidence,
    ranked_rows,
)
from index.retrieval.rerank import RERANK_FEATURES, final_scores, rerank_features
from index.retrieval.scorer import WEIGHTS_FILE, Judge, LinearModel, SecondStage, load_scorer

SEED = 20261207
TOP = 10
"""Candidates the reranker rereads per question while the heads are trained and fitted."""
SERVED_TOP = 5
"""Candidates it rereads when answering: the fitted second stage ranks and judges dev questions
the same from the best 5 as from the best 10, and each pair reread is most of a question's cost."""
NEGATIVES = 4
"""Wrong candidates per question the reranker trains on: the first stage's best wrong ones."""
RERANKER_EPOCHS = 2
READER_EPOCHS = 2
FOLD_RESULT = "second_stage.json"
LORA_RANK = 16
RERANKER_MAX_LENGTH = 96
READER_MAX_LENGTH = 192
MARK_PRECISION = 0.9
"""The reader marks words only above the margin at which, on stories it never saw, at least this
share of its marks overlap the gold answer: a wrong mark is worse than none."""
LORA_TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense")


def _lora(task: str, keep: list[str]) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        task_type=task,
        r=LORA_RANK,
        lora_alpha=2 * LORA_RANK,
        lora_dropout=0.05,
        target_modules=list(LORA_TARGETS),
        modules_to_save=keep,
    )


def _training_args(cls: Any, folder: Path, epochs: int, learning_rate: float, **extra: Any) -> Any:
    return cls(
        output_dir=str(folder),
        num_train_epochs=epochs,
        per_device_train_batch_size=32,
        learning_rate=learning_rate,
        warmup_steps=0.1,
        weight_decay=0.01,
        save_strategy="no",
        logging_steps=200,
        seed=SEED,
        data_seed=SEED,
        report_to=[],
        use_cpu=True,
        bf16=True,
        disable_tqdm=not sys.stderr.isatty(),
        **extra,
    )


def _finish_adapter(folder: Path, task: str, max_length: int, meta: dict[str, Any]) -> None:
    """Name the base by its model id, not by where it was installed, and describe the head."""
    config_path = folder / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = DEFAULT_MODEL
    config_path.write_text(json.dumps(config, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for extra in folder.iterdir():
        if extra.name not in ("adapter_config.json", "adapter_model.safetensors"):
            extra.unlink() if extra.is_file() else shutil.rmtree(extra)
    head = {"task": task, "max_length": max_length, "meta": meta}
    (folder / "head.json").write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")


# -- the reranker -------------------------------------------------------------------------------


def reranker_pairs(asked: Sequence[Asked], negatives: int = NEGATIVES) -> dict[str, list[Any]]:
    """(question, sentence, label): each question's gold sentence and its best wrong candidates."""
    pairs: dict[str, list[Any]] = {"question": [], "sentence": [], "label": []}
    for a in asked:
        wrong = [i for i in range(len(a.texts)) if i != a.gold][:negatives]
        for i in ([a.gold] if a.gold >= 0 else []) + wrong:
            pairs["question"].append(" ".join(a.question.question.split()))
            pairs["sentence"].append(a.texts[i])
            pairs["label"].append(1.0 if i == a.gold else 0.0)
    return pairs


def train_reranker(asked: Sequence[Asked], out: Path, *, epochs: int = RERANKER_EPOCHS) -> None:
    from datasets import Dataset
    from peft import TaskType, get_peft_model
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
        losses,
    )

    from index.quality.length_batches import LengthBucketBatchSampler

    pairs = reranker_pairs(asked)
    model = CrossEncoder(str(base_model_path()), num_labels=1, max_length=RERANKER_MAX_LENGTH, local_files_only=True)
    model[0].model = get_peft_model(model[0].model, _lora(TaskType.SEQ_CLS, ["classifier", "pooler"]))
    with tempfile.TemporaryDirectory() as work:
        args = _training_args(
            CrossEncoderTrainingArguments, Path(work), epochs, 2e-4, batch_sampler=LengthBucketBatchSampler
        )
        trainer = CrossEncoderTrainer(
            model=model, args=args, train_dataset=Dataset.from_dict(pairs), loss=losses.BinaryCrossEntropyLoss(model)
        )
        trainer.train()
    model[0].model.save_pretrained(str(out))
    meta = {
        "pairs": len(pairs["label"]),
        "questions": len(asked),
        "epochs": epochs,
        "negatives": NEGATIVES,
        "lora_rank": LORA_RANK,
        "seed": SEED,
        "command": "python -m index.quality.train_heads --data ../shared/data/qa",
    }
    _finish_adapter(out, "sequence-classification", RERANKER_MAX_LENGTH, meta)


def cross_scores(reranker: Reranker, asked: Sequence[Asked]) -> list[np.ndarray]:
    questions = [" ".join(a.question.question.split()) for a in asked for _ in a.texts]
    logits = reranker.score(questions, [t for a in asked for t in a.texts])
    sizes = np.cumsum([0, *(len(a.texts) for a in asked)])
    return [logits[sizes[i] : sizes[i + 1]] for i in range(len(asked))]


# -- the reader ---------------------------------------------------------------------------------


def _gold_span(a: Asked, qa: QASet) -> tuple[str, int, int] | None:
    """The gold answer as (paragraph, start, end), when the data's offset fits one of its answers."""
    q = a.question
    if q.answer_start is None:
        return None
    paragraph = qa.stories[q.title].paragraphs[q.paragraph - 1]
    for answer in q.answers:
        if answer and paragraph.startswith(answer, q.answer_start):
            return paragraph, q.answer_start, q.answer_start + len(answer)
    return None


def reader_examples(asked: Sequence[Asked], qa: QASet, rng: random.Random) -> list[tuple[str, str, int, int]]:
    """(question, passage, answer start, answer end) in the passage, or -1, -1 where none answers.

    Passages are what the engine quotes: the gold sentence, sometimes with a neighbour joined;
    and, as passages to mark nothing in, a wrong candidate and an unanswerable question's best.
    """
    out: list[tuple[str, str, int, int]] = []
    for a in asked:
        question = " ".join(a.question.question.split())
        gold = _gold_span(a, qa) if a.answerable else None
        if gold is not None:
            paragraph, start, end = gold
            spans = split_sentences(paragraph)
            at = next((i for i, (s, e) in enumerate(spans) if s <= start < e), None)
            if at is not None:
                first, last = at, at
                draw = rng.random()
                if draw < 0.2 and at + 1 < len(spans):
                    last += 1
                elif draw < 0.35 and at > 0:
                    first -= 1
                lo, hi = spans[first][0], spans[last][1]
                if end <= hi:
                    out.append((question, paragraph[lo:hi], start - lo, end - lo))
        wrong = [i for i in range(len(a.texts)) if i != a.gold]
        if wrong and (not a.answerable or rng.random() < 0.5):
            out.append((question, a.texts[wrong[0]], -1, -1))
    return out


def _encode_reader(tokenizer: Any, examples: Sequence[tuple[str, str, int, int]]) -> list[dict[str, Any]]:
    encoded = []
    for question, passage, start, end in examples:
        enc = tokenizer(
            question, passage, truncation="longest_first", max_length=READER_MAX_LENGTH, return_offsets_mapping=True
        )
        offsets, sequence = enc.pop("offset_mapping"), enc.sequence_ids()
        first = last = 0
        if start >= 0:
            inside = [t for t, s in enumerate(sequence) if s == 1 and offsets[t][1] > start and offsets[t][0] < end]
            if not inside:
                continue  # the answer was cut off by truncation
            first, last = inside[0], inside[-1]
        encoded.append({**enc, "start_positions": first, "end_positions": last})
    return encoded


def train_reader(examples: Sequence[tuple[str, str, int, int]], out: Path, *, epochs: int = READER_EPOCHS) -> None:
    from datasets import Dataset
    from peft import TaskType, get_peft_model
    from transformers import (
        AutoModelForQuestionAnswering,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    base = str(base_model_path())
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    encoded = _encode_reader(tokenizer, examples)
    model = get_peft_model(
        AutoModelForQuestionAnswering.from_pretrained(base, local_files_only=True),
        _lora(TaskType.QUESTION_ANS, ["qa_outputs"]),
    )
    with tempfile.TemporaryDirectory() as work:
        args = _training_args(TrainingArguments, Path(work), epochs, 3e-4, train_sampling_strategy="group_by_length")
        collator = DataCollatorWithPadding(tokenizer)
        Trainer(model=model, args=args, train_dataset=Dataset.from_list(encoded), data_collator=collator).train()
    model.save_pretrained(str(out))
    meta = {"examples": len(encoded), "epochs": epochs, "lora_rank": LORA_RANK, "seed": SEED}
    _finish_adapter(out, "question-answering", READER_MAX_LENGTH, meta)


def choose_mark_margin(reader: AnswerReader, examples: Sequence[tuple[str, str, int, int]]) -> tuple[float, float]:
    """The lowest margin at which marks, best first, still overlap the gold answer at MARK_PRECISION;
    and the share of answer-holding passages that would get a mark."""
    holding = [e for e in examples if e[2] >= 0]
    found = reader.find([e[0] for e in holding], [e[1] for e in holding])
    rows = sorted(
        ((f.margin, f.start < end and start < f.end) for f, (_, _, start, end) in zip(found, holding) if f),
        key=lambda r: -r[0],
    )
    margin, right, covered = float("inf"), 0, 0
    for n, (m, ok) in enumerate(rows, start=1):
        right += ok
        if right / n >= MARK_PRECISION:
            margin, covered = m, n
    return margin, covered / max(1, len(holding))


# -- the second stage ---------------------------------------------------------------------------


def fit_second_ranker(asked: Sequence[Asked], cross: Sequence[np.ndarray], l2: float = 1.0) -> LinearModel:
    """Listwise softmax over each question's reread candidates (linear: a few well-behaved inputs)."""
    from scipy.optimize import minimize

    groups = [
        (rerank_features(a.first_stage, c, np.arange(len(c)), np.zeros(len(c), np.int64)), a.gold)
        for a, c in zip(asked, cross)
        if a.gold >= 0
    ]
    stacked = np.vstack([x for x, _ in groups])
    mean, scale = stacked.mean(axis=0), np.where(stacked.std(axis=0) > 1e-6, stacked.std(axis=0), 1.0)
    sizes = np.array([len(x) for x, _ in groups])
    owner = np.repeat(np.arange(len(groups)), sizes)
    gold_rows = np.cumsum([0, *sizes[:-1]]) + np.array([g for _, g in groups])
    z = (stacked - mean) / scale

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = z @ w[:-1]
        top = np.full(len(groups), -np.inf)
        np.maximum.at(top, owner, s)
        e = np.exp(s - top[owner])
        norm = np.bincount(owner, weights=e, minlength=len(groups))
        p = e / norm[owner]
        value = float(np.sum(np.log(norm) + top - s[gold_rows])) + l2 * float(w[:-1] @ w[:-1])
        grad_rows = p.copy()
        grad_rows[gold_rows] -= 1.0
        grad = np.append(z.T @ grad_rows + 2 * l2 * w[:-1], 0.0)
        return value, grad

    w = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B").x
    return LinearModel(
        RERANK_FEATURES, mean.astype(np.float32), scale.astype(np.float32), w[:-1].astype(np.float32), 0.0
    )


def second_stage_scores(ranker: LinearModel, a: Asked, cross: np.ndarray) -> np.ndarray:
    rows = np.arange(len(cross))
    features = rerank_features(a.first_stage, cross, rows, np.zeros(len(cross), np.int64))
    return final_scores(a.first_stage, rows, ranker.logits(features))


def judge_inputs(ranker: LinearModel, asked: Sequence[Asked], cross: Sequence[np.ndarray]) -> np.ndarray:
    """What the judge reads about each question's answer after the second stage (as the engine computes it)."""
    rows = []
    for a, c in zip(asked, cross):
        scores = second_stage_scores(ranker, a, c)
        offsets = np.array([0, len(scores)])
        top, second = best_rows(scores, offsets, ranked_rows(scores, offsets))
        base = confidence_features(
            a.features, scores, top, second, a.evidence[np.maximum(top, 0)], a.question_level[None, :]
        )
        rows.append(np.hstack([base, cross_evidence(c, top, offsets)])[0])
    return np.vstack(rows)


def fit_second_stage(
    rank: Sequence[Asked], rank_cross: Sequence[np.ndarray], judged: Sequence[Asked], judged_cross: Sequence[np.ndarray]
) -> tuple[LinearModel, Judge]:
    ranker = fit_second_ranker(rank, rank_cross)
    x = judge_inputs(ranker, judged, judged_cross)
    answerable = np.array([a.answerable for a in judged])
    own = np.array([a.own for a in judged])
    confidence = fit_monotone_confidence(x, answerable.astype(float), names=RERANKED_CONFIDENCE_FEATURES)
    relevance = fit_monotone_confidence(x, own.astype(float), names=RERANKED_CONFIDENCE_FEATURES)
    threshold = pick_threshold(1 / (1 + np.exp(-confidence.logits(x))), answerable, TARGET_RECALL)
    floor = pick_floor(1 / (1 + np.exp(-relevance.logits(x))), answerable, ~own)
    return ranker, Judge(confidence, threshold, relevance, floor)


def top1(asked: Sequence[Asked], scores: Sequence[np.ndarray]) -> float:
    """Share of answerable questions whose best candidate is the gold sentence."""
    hits = [int(np.argmax(s)) == a.gold for a, s in zip(asked, scores) if a.answerable]
    return float(np.mean(hits)) if hits else 0.0


# -- the command --------------------------------------------------------------------------------


def _say(started: float, text: str) -> None:
    print(f"[{time.perf_counter() - started:6.0f} s] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/qa"), help="folder with squad1/ and squad2/")
    parser.add_argument("--shipped", type=Path, default=shipped_folder(""), help="where the heads are written")
    parser.add_argument("--weights", type=Path, default=Path(__file__).parent.parent / "retrieval" / WEIGHTS_FILE)
    parser.add_argument("--limit-stories", type=int, default=None, help="only the first N stories (a quick trial run)")
    parser.add_argument("--max-questions", type=int, default=None, help="at most N questions a set (a quick trial run)")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="keep each finished stage here; run again with the same folder to resume after an interruption",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    random.seed(SEED)
    np.random.seed(SEED % 2**32)
    import torch

    torch.manual_seed(SEED)
    scorer = load_scorer(args.weights)
    embedder = SentenceTransformerEmbedder()
    squad1, squad2 = (
        select_questions(load_qa_set(args.data / name, "dev", limit_stories=args.limit_stories), args.max_questions)
        for name in ("squad1", "squad2")
    )
    rank = ask_candidates(squad1, embedder, scorer, top=TOP)
    judged = ask_candidates(squad2, embedder, scorer, top=TOP, off_story=True)
    unanswerable = [a for a in judged if a.own and not a.answerable]
    _say(started, f"candidates: {len(rank)} answerable, {len(unanswerable)} unanswerable, {len(judged)} judged")

    work = args.work or Path(tempfile.mkdtemp(prefix="storybot-heads-"))
    fold = work / "fold0"
    if not (fold / FOLD_RESULT).is_file():
        _fit_on_fold(fold, rank, unanswerable, judged, squad1, started)
    result = json.loads((fold / FOLD_RESULT).read_text(encoding="utf-8"))
    _say(started, result["summary"])
    _set_meta(fold / "reader", {"mark_margin": round(float(result["margin"]), 4), "mark_precision": MARK_PRECISION})
    shipped = args.shipped
    for name in ("reranker", "reader"):
        shutil.rmtree(shipped / name, ignore_errors=True)
        shutil.copytree(fold / name, shipped / name, ignore=shutil.ignore_patterns("cache"))
    spec = head_spec("reranker", shipped / "reranker")
    assert spec is not None
    fitted = SecondStage.from_json(result["stage"])
    stage = SecondStage(SERVED_TOP, spec.fingerprint, fitted.ranker, fitted.judge)
    weights = json.loads(args.weights.read_text(encoding="utf-8"))
    weights["second"] = stage.to_json()
    _write_json(args.weights, weights)
    load_scorer(args.weights)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    _say(started, f"wrote {shipped}/reranker, {shipped}/reader and the second stage in {args.weights}")
    return 0


def _in_fold(asked: Sequence[Asked], fold: int) -> list[Asked]:
    return [a for a in asked if fold_of(a.story) == fold]


def _fit_on_fold(
    fold: Path,
    rank: Sequence[Asked],
    unanswerable: Sequence[Asked],
    judged: Sequence[Asked],
    squad1: QASet,
    started: float,
) -> None:
    """Heads trained on fold 0 score fold 1; the second stage and the mark margin are fitted there."""
    if not _trained(fold / "reranker"):
        train_reranker(_in_fold(rank, 0) + _in_fold(unanswerable, 0), fold / "reranker")
    _say(started, "reranker trained on fold 0")
    if not _trained(fold / "reader"):
        fold_examples = reader_examples(_in_fold(rank, 0) + _in_fold(unanswerable, 0), squad1, random.Random(SEED))
        train_reader(fold_examples, fold / "reader")
    _say(started, "reader trained on fold 0")
    reranker = _open_reranker(fold / "reranker", fold / "cache")
    reader = _open_reader(fold / "reader", fold / "cache")
    held_rank, held_judged = _in_fold(rank, 1), _in_fold(judged, 1)
    rank_cross = cross_scores(reranker, held_rank)
    judged_cross = cross_scores(reranker, held_judged)
    ranker, judge = fit_second_stage(held_rank, rank_cross, held_judged, judged_cross)
    held_examples = reader_examples(held_rank, squad1, random.Random(SEED + 1))
    margin, covered = choose_mark_margin(reader, held_examples)
    second = [second_stage_scores(ranker, a, c) for a, c in zip(held_rank, rank_cross)]
    summary = (
        f"fold 1 (unseen): top-1 first stage {top1(held_rank, [a.first_stage for a in held_rank]):.3f}, "
        f"reranker alone {top1(held_rank, rank_cross):.3f}, second stage {top1(held_rank, second):.3f}; "
        f"marks from margin {margin:.2f} cover {covered:.3f} of answer-holding passages"
    )
    result = {"stage": SecondStage(TOP, "", ranker, judge).to_json(), "margin": margin, "summary": summary}
    _write_json(fold / FOLD_RESULT, result)


def _trained(folder: Path) -> bool:
    """A head is complete once its head.json exists: _finish_adapter writes it last."""
    return (folder / "head.json").is_file()


def _write_json(path: Path, value: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")
    partial.replace(path)


def _set_meta(folder: Path, values: dict[str, Any]) -> None:
    path = folder / "head.json"
    head = json.loads(path.read_text(encoding="utf-8"))
    head["meta"].update(values)
    _write_json(path, head)


def _open_reranker(folder: Path, cache: Path) -> Reranker:
    spec = head_spec("reranker", folder)
    assert spec is not None
    return Reranker(spec, pair_tokenizer(spec), open_head(spec, cache))


def _open_reader(folder: Path, cache: Path) -> AnswerReader:
    spec = head_spec("reader", folder)
    assert spec is not None
    return AnswerReader(spec, pair_tokenizer(spec), open_head(spec, cache))


if __name__ == "__main__":
    raise SystemExit(main())
