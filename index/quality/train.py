"""Train the scorer on the dev split of the QA data and write `index/retrieval/weights.json`.

    python -m index.quality.train --data ../shared/data/qa [--out index/retrieval/weights.json] [--cv]

The ranker learns, per question, which candidate sentence holds the answer (listwise softmax
over the candidates, SQuAD 1.1 dev); the confidence model learns whether the best candidate
answers at all (SQuAD 2.0 dev answerable against its impossible questions and against
questions asked of another story); the relevance model learns whether the question is about
the story at all (every question asked of its own story against questions asked of another).
All are tiny and shipped as JSON.
`--cv` first reports 5-fold cross-validation by story on dev. Only `dev` files are read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embedding.embedder import SentenceTransformerEmbedder
from index.engine import Engine
from index.quality.metrics import auroc
from index.quality.qa import QAQuestion, QASet, load_qa_set
from index.retrieval.features import CONFIDENCE_FEATURES, RANK_FEATURES, best_rows, confidence_features
from index.retrieval.scorer import WEIGHTS_FILE, LinearModel, Scorer, load_scorer, neutral_scorer

TARGET_RECALL = 0.90
"""`answered` for at least this share of dev's answerable questions; below it, `unsure`."""
OFF_STORY_BELOW_FLOOR = 0.975
"""`not_in_story` for at least this share of dev's off-story questions..."""
MAX_ANSWERABLE_BELOW_FLOOR = 0.01
"""...unless that would call more than this share of answerable questions `not_in_story`: a
fair question wrongly told the story does not answer it costs a reader more than an off-topic
one shown the closest passages as "may not answer this"."""
HIDDEN = 16
SEED = 20261128


@dataclass
class Collected:
    """Candidate rows of many questions, stacked, with group boundaries."""

    features: np.ndarray
    evidence: np.ndarray
    question_level: np.ndarray  # one row per question
    offsets: np.ndarray  # question q owns rows offsets[q]:offsets[q+1]
    gold: np.ndarray  # row within the group, -1 if none
    answerable: np.ndarray  # bool per question
    story: np.ndarray  # story index per question (for cross-validation)
    own: np.ndarray  # bool per question: asked of its own story (False: an off-story pair)


def gold_row(engine: Engine, cand_ids: np.ndarray, q: QAQuestion) -> int:
    if q.impossible or q.answer_start is None:
        return -1
    rows = engine.data.sentences[cand_ids]
    hit = np.nonzero((rows[:, 1] == q.paragraph - 1) & (rows[:, 2] <= q.answer_start) & (q.answer_start < rows[:, 3]))[
        0
    ]
    return int(hit[0]) if len(hit) else -1


def collect(qa: QASet, embedder: SentenceTransformerEmbedder, *, off_story: bool) -> Collected:
    """Candidates and features for every question, asked of its own story (and of another)."""
    titles = sorted(qa.stories)
    engines = {t: Engine.from_corpus(qa.corpus_of(t), embedder, scorer=neutral_scorer()) for t in titles}
    vectors = embedder.embed([q.question for q in qa.questions], batch_size=128)
    asked: dict[str, list[tuple[int, bool]]] = {t: [] for t in titles}  # story -> (question, own)
    for i, q in enumerate(qa.questions):
        asked[q.title].append((i, True))
        if off_story and not q.impossible:
            asked[titles[(titles.index(q.title) + 1) % len(titles)]].append((i, False))
    feats, evid, qlev, sizes, gold, answerable, story, owns = [], [], [], [0], [], [], [], []
    for title, pairs in asked.items():
        engine = engines[title]
        questions = [qa.questions[i] for i, _ in pairs]
        batch = engine.retriever.candidates(
            [" ".join(q.question.split()) for q in questions], vectors[[i for i, _ in pairs]]
        )
        evidence = engine.retriever.evidence(batch, np.arange(len(batch.ids)))
        for row, (q, (_, own)) in enumerate(zip(questions, pairs)):
            rows = batch.rows(row)
            feats.append(batch.features[rows])
            evid.append(evidence[rows])
            qlev.append(batch.question_level[row])
            sizes.append(rows.stop - rows.start)
            gold.append(gold_row(engine, batch.ids[rows], q) if own else -1)
            answerable.append(own and not q.impossible)
            story.append(titles.index(q.title))
            owns.append(own)
    return Collected(
        np.vstack(feats),
        np.vstack(evid),
        np.vstack(qlev),
        np.cumsum(sizes),
        np.array(gold),
        np.array(answerable),
        np.array(story),
        np.array(owns),
    )


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 1e-6, scale, 1.0)


def _net(inputs: int, hidden: int):  # type: ignore[no-untyped-def]
    import torch

    torch.manual_seed(SEED)
    if hidden:
        return torch.nn.Sequential(torch.nn.Linear(inputs, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))
    return torch.nn.Sequential(torch.nn.Linear(inputs, 1))


def _to_model(net, names: tuple[str, ...], mean: np.ndarray, scale: np.ndarray) -> LinearModel:  # type: ignore[no-untyped-def]
    layers = [m for m in net if hasattr(m, "weight")]
    out = layers[-1]
    hidden_w = hidden_b = None
    if len(layers) == 2:
        hidden_w = layers[0].weight.detach().numpy().T.astype(np.float32)
        hidden_b = layers[0].bias.detach().numpy().astype(np.float32)
    return LinearModel(
        names,
        mean.astype(np.float32),
        scale.astype(np.float32),
        out.weight.detach().numpy()[0].astype(np.float32),
        float(out.bias.detach().numpy()[0]),
        hidden_w,
        hidden_b,
    )


def fit_ranker(data: Collected, questions: np.ndarray, hidden: int = HIDDEN, epochs: int = 60) -> LinearModel:
    """Listwise softmax: the gold sentence should win among its question's candidates."""
    import torch

    chosen = [q for q in questions if data.gold[q] >= 0]
    rows = np.concatenate([np.arange(data.offsets[q], data.offsets[q + 1]) for q in chosen])
    mean, scale = _standardise(data.features[rows])
    x = torch.tensor((data.features - mean) / scale, dtype=torch.float32)
    net = _net(x.shape[1], hidden)
    optimiser = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-4)
    group_index_np = np.repeat(np.arange(len(chosen)), [data.offsets[q + 1] - data.offsets[q] for q in chosen])
    group_index = torch.from_numpy(group_index_np)
    gold_rows = torch.tensor([data.offsets[q] + data.gold[q] for q in chosen])
    row_index = torch.tensor(rows)
    starts = torch.tensor([data.offsets[q] for q in chosen])
    gold_local = gold_rows - starts
    for _ in range(epochs):
        optimiser.zero_grad()
        scores = net(x[row_index]).squeeze(1)
        # each group's highest score, a constant that keeps exp() in range (numpy: no beta torch API)
        group_max_np = np.full(len(chosen), -np.inf, np.float32)
        np.maximum.at(group_max_np, group_index_np, scores.detach().numpy())
        group_max = torch.from_numpy(group_max_np)
        exp = torch.exp(scores - group_max[group_index])
        log_norm = torch.log(torch.zeros(len(chosen)).index_add_(0, group_index, exp)) + group_max
        position = torch.zeros(len(chosen), dtype=torch.long)
        position += torch.cumsum(torch.bincount(group_index, minlength=len(chosen)), 0) - torch.bincount(
            group_index, minlength=len(chosen)
        )
        gold_scores = scores[position + gold_local]
        loss = (log_norm - gold_scores).mean()
        loss.backward()
        optimiser.step()
    return _to_model(net, RANK_FEATURES, mean, scale)


def confidence_inputs(data: Collected, ranker: LinearModel, questions: np.ndarray) -> np.ndarray:
    scores = ranker.logits(data.features)
    top, second = best_rows(scores, data.offsets)
    top_evidence = data.evidence[np.maximum(top, 0)]
    inputs = confidence_features(data.features, scores, top, second, top_evidence, data.question_level)
    return np.asarray(inputs[questions])


CONFIDENCE_SIGNS = {
    "top_score": 1,
    "margin": 1,
    "dense_sent": 1,
    "dense_para": 1,
    "cover_sent": 1,
    "cover_para": 1,
    "cover_window": 1,
    "bm25_abs": 1,
    "type_missing": -1,
    "missing_para": -1,
    "missing_para_count": -1,
    "missing_story": -1,
    "missing_entity": -1,
    "missing_number": -1,
    "cross_top": 1,
    "cross_best": 1,
}
"""More support may never lower confidence, more missing evidence never raise it. SQuAD 2.0's
impossible questions are near-copies of a sentence with one thing changed, so an unconstrained
model learns "very high overlap means unanswerable": true of that data, backwards for people."""


def fit_monotone_confidence(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, names: tuple[str, ...] = CONFIDENCE_FEATURES
) -> LinearModel:
    """Logistic regression whose weights keep the signs in CONFIDENCE_SIGNS."""
    from scipy.optimize import minimize

    mean, scale = _standardise(x)
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        logits = z @ w
        p = 1 / (1 + np.exp(-logits))
        value = float(np.sum(np.logaddexp(0, logits) - y * logits)) + l2 * float(w[:-1] @ w[:-1])
        grad = z.T @ (p - y)
        grad[:-1] += 2 * l2 * w[:-1]
        return value, grad

    bounds = [
        (0, None)
        if CONFIDENCE_SIGNS.get(name) == 1
        else (None, 0)
        if CONFIDENCE_SIGNS.get(name) == -1
        else (None, None)
        for name in names
    ] + [(None, None)]
    result = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 1000})
    w = result.x
    return LinearModel(
        names, mean.astype(np.float32), scale.astype(np.float32), w[:-1].astype(np.float32), float(w[-1])
    )


def fit_confidence(x: np.ndarray, y: np.ndarray, hidden: int = HIDDEN, epochs: int = 400) -> LinearModel:
    if hidden <= 0:
        return fit_monotone_confidence(x, y)
    import torch

    mean, scale = _standardise(x)
    xt = torch.tensor((x - mean) / scale, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32)
    net = _net(x.shape[1], hidden)
    optimiser = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-4)
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xt).squeeze(1), yt)
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
    return _to_model(net, CONFIDENCE_FEATURES, mean, scale)


def top1(data: Collected, model: LinearModel, questions: np.ndarray) -> float:
    scores = model.logits(data.features)
    hits = [
        int(np.argmax(scores[data.offsets[q] : data.offsets[q + 1]])) == data.gold[q]
        for q in questions
        if data.gold[q] >= 0
    ]
    return float(np.mean(hits)) if hits else 0.0


def pick_floor(relevance: np.ndarray, on_story: np.ndarray, off_story: np.ndarray) -> float:
    """The relevance below which a question is `not_in_story` (see OFF_STORY_BELOW_FLOOR)."""
    wanted = float(np.quantile(relevance[off_story], OFF_STORY_BELOW_FLOOR))
    allowed = float(np.quantile(relevance[on_story], MAX_ANSWERABLE_BELOW_FLOOR))
    return min(wanted, allowed)


def pick_threshold(conf: np.ndarray, answerable: np.ndarray, recall: float) -> float:
    """The highest threshold that still answers `recall` of the answerable questions."""
    positives = np.sort(conf[answerable])[::-1]
    index = min(len(positives) - 1, int(np.ceil(recall * len(positives))) - 1)
    return float(positives[index])


def cross_validate(rank: Collected, conf: Collected, hidden: int, confidence_hidden: int) -> None:
    """5 folds by story: how well each part generalises to stories it never saw."""
    folds = 5
    r_top, c_auc = [], []
    for fold in range(folds):
        r_test = np.nonzero(rank.story % folds == fold)[0]
        r_train = np.nonzero(rank.story % folds != fold)[0]
        ranker = fit_ranker(rank, r_train, hidden)
        r_top.append(top1(rank, ranker, r_test))
        c_test = np.nonzero(conf.story % folds == fold)[0]
        c_train = np.nonzero(conf.story % folds != fold)[0]
        model = fit_confidence(
            confidence_inputs(conf, ranker, c_train), conf.answerable[c_train].astype(float), confidence_hidden
        )
        probs = model.logits(confidence_inputs(conf, ranker, c_test))
        own = conf.own[c_test]
        labels = conf.answerable[c_test][own].astype(bool)
        c_auc.append(auroc(probs[own][labels].tolist(), probs[own][~labels].tolist()) or 0.5)
    print(
        f"cv hidden={hidden}/{confidence_hidden}: ranker top1 {np.mean(r_top):.3f} (±{np.std(r_top):.3f}), "
        f"confidence AUROC answerable vs impossible {np.mean(c_auc):.3f}",
        file=sys.stderr,
    )


def load_or_collect(cache: Path | None, qa: QASet, embedder: SentenceTransformerEmbedder, off_story: bool) -> Collected:
    if cache and cache.is_file():
        raw = np.load(cache, allow_pickle=False)
        return Collected(
            *(
                raw[k]
                for k in ("features", "evidence", "question_level", "offsets", "gold", "answerable", "story", "own")
            )
        )
    data = collect(qa, embedder, off_story=off_story)
    if cache:
        np.savez(cache, **data.__dict__)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/qa"), help="folder with squad1/ and squad2/")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent.parent / "retrieval" / WEIGHTS_FILE)
    parser.add_argument("--cv", action="store_true", help="report 5-fold cross-validation by story first")
    parser.add_argument("--hidden", type=int, default=HIDDEN, help="width of the hidden layer (0: linear)")
    parser.add_argument(
        "--confidence-hidden", type=int, default=0, help="hidden width of the confidence model (0: monotone linear)"
    )
    parser.add_argument("--feature-cache", type=Path, default=None, help="reuse collected features (a .npz path)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    embedder = SentenceTransformerEmbedder()
    squad1 = load_qa_set(args.data / "squad1", "dev")
    squad2 = load_qa_set(args.data / "squad2", "dev")
    cache1 = args.feature_cache.with_suffix(".squad1.npz") if args.feature_cache else None
    cache2 = args.feature_cache.with_suffix(".squad2.npz") if args.feature_cache else None
    rank = load_or_collect(cache1, squad1, embedder, off_story=False)
    conf = load_or_collect(cache2, squad2, embedder, off_story=True)
    print(f"collected in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.cv:
        cross_validate(rank, conf, args.hidden, args.confidence_hidden)
    ranker = fit_ranker(rank, np.arange(len(rank.gold)), args.hidden)
    print(
        f"ranker dev top1 (questions whose gold is a candidate): {top1(rank, ranker, np.arange(len(rank.gold))):.3f}",
        file=sys.stderr,
    )
    questions = np.arange(len(conf.gold))
    x = confidence_inputs(conf, ranker, questions)
    confidence = fit_confidence(x, conf.answerable.astype(float), args.confidence_hidden)
    probs = 1 / (1 + np.exp(-confidence.logits(x)))
    threshold = pick_threshold(probs, conf.answerable, TARGET_RECALL)
    relevance = fit_monotone_confidence(x, conf.own.astype(float))
    related = 1 / (1 + np.exp(-relevance.logits(x)))
    floor = pick_floor(related, conf.answerable, ~conf.own)
    meta = {
        "trained_on": "SQuAD 1.1 dev split (ranker); SQuAD 2.0 dev split with off-story pairs (confidence, relevance)",
        "command": "python -m index.quality.train --data ../shared/data/qa",
        "target_recall": TARGET_RECALL,
        "off_story_below_floor": OFF_STORY_BELOW_FLOOR,
        "max_answerable_below_floor": MAX_ANSWERABLE_BELOW_FLOOR,
        "hidden": args.hidden,
        "confidence_hidden": args.confidence_hidden,
    }
    scorer = Scorer(ranker, confidence, threshold, meta, relevance, floor)
    args.out.write_text(json.dumps(scorer.to_json(), indent=1) + "\n", encoding="utf-8")
    load_scorer(args.out)
    print(
        f"wrote {args.out} (threshold {threshold:.3f}, floor {floor:.3f}) in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
