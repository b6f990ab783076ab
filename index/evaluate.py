"""Answer quality on QA data (SQuAD-derived story sets): the figures behind `storybot eval`.

The metric functions at the top are pure (quotes and numbers in, numbers out) so they can be
tested by hand; the runner below them builds one in-memory engine per story, asks each
question of its own story (and of the next story, for off-story abstention), optionally of
all stories pooled in one corpus, and summarises. Definitions follow
`../shared/data/qa/README.md`: the data's paragraphs are 0-based, `QAQuestion.paragraph` and
`Quote.paragraph` are 1-based, so they compare directly.

Naming, as in that README's baseline table: `sent@k` is on all answerable questions,
`sent@kc` only on those whose gold sentence is certain (the strict figure). A storybot quote
may join up to three adjacent sentences, so read `sent@k` together with the quote lengths.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from index.corpus import Corpus
from index.embedding import Embedder
from index.engine import Engine
from index.errors import QuestionError
from index.qa import QAQuestion, QASet
from index.scorer import Scorer, load_scorer
from index.types import Answer, Quote

MODES = ("own", "pooled", "both")

# Baselines copied from ../shared/data/qa/README.md, section "Baselines (test split, all
# questions, no subsampling)": BM25 (rank_bm25 BM25Okapi) and all-MiniLM-L6-v2 cosine, each
# ranking single sentences of the question's own story. Their "mrr" is over the full ranking
# (storybot reports MRR over its 3 quotes); their acc_thr uses a threshold picked on dev.
BASELINES: dict[str, dict[str, dict[str, float]]] = {
    "squad2/test": {
        "bm25": {
            "sent@1": 0.699, "sent@3": 0.840, "sent@1c": 0.699, "sent@3c": 0.838, "ans@1": 0.727, "ans@3": 0.869,
            "para@1": 0.803, "mrr": 0.778, "auroc_impossible": 0.541, "auroc_offstory": 0.936, "acc_thr": 0.529,
        },
        "minilm": {
            "sent@1": 0.631, "sent@3": 0.809, "sent@1c": 0.632, "sent@3c": 0.811, "ans@1": 0.669, "ans@3": 0.844,
            "para@1": 0.767, "mrr": 0.732, "auroc_impossible": 0.641, "auroc_offstory": 0.997, "acc_thr": 0.597,
        },
    },
    "squad1/test": {
        "bm25": {
            "sent@1": 0.639, "sent@3": 0.794, "sent@1c": 0.638, "sent@3c": 0.793, "ans@1": 0.667, "ans@3": 0.823,
            "para@1": 0.751, "mrr": 0.728, "auroc_offstory": 0.926,
        },
        "minilm": {
            "sent@1": 0.564, "sent@3": 0.743, "sent@1c": 0.568, "sent@3c": 0.747, "ans@1": 0.601, "ans@3": 0.782,
            "para@1": 0.700, "mrr": 0.670, "auroc_offstory": 0.996,
        },
    },
}


# -- pure metrics ---------------------------------------------------------------------------


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """P(a random positive scores above a random negative), ties counting half (Mann–Whitney U).

    None when either side is empty: there is nothing to separate.
    """
    n_pos, n_neg = len(positives), len(negatives)
    if n_pos == 0 or n_neg == 0:
        return None
    labelled = sorted([(float(s), 1) for s in positives] + [(float(s), 0) for s in negatives])
    rank_sum_pos = 0.0
    i = 0
    while i < len(labelled):
        j = i
        while j < len(labelled) and labelled[j][0] == labelled[i][0]:
            j += 1
        mid_rank = (i + 1 + j) / 2  # average of the 1-based ranks i+1 .. j
        rank_sum_pos += mid_rank * sum(label for _, label in labelled[i:j])
        i = j
    u = rank_sum_pos - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def quote_holds(quote: Quote, paragraph: int, answer_start: int, file: str | None = None) -> bool:
    """Does the quote lie in the gold paragraph (1-based) and cover the answer's first character?

    With `file` (pooled corpora), the quote must also come from the gold story: paragraph 3 of
    another story is no hit.
    """
    if file is not None and quote.file != file:
        return False
    return quote.paragraph == paragraph and quote.start <= answer_start < quote.end


def hit_rank(quotes: Sequence[Quote], paragraph: int, answer_start: int | None, file: str | None = None) -> int | None:
    """1-based rank of the first quote holding the gold answer start, None if no quote does."""
    if answer_start is None:
        return None
    for rank, quote in enumerate(quotes, start=1):
        if quote_holds(quote, paragraph, answer_start, file):
            return rank
    return None


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """The lenient check: the quote contains one of the annotators' answer strings verbatim."""
    return any(a and a in text for a in answers)


def threshold_metrics(answered: Sequence[bool], answerable: Sequence[bool]) -> dict[str, float | None]:
    """Accuracy, precision (answered that are answerable), recall (answerable that are answered)."""
    if len(answered) != len(answerable):
        raise ValueError("one answered flag per question")
    pairs = list(zip(answered, answerable))
    both = sum(1 for a, g in pairs if a and g)
    n_answered = sum(1 for a, _ in pairs if a)
    n_answerable = sum(1 for _, g in pairs if g)
    correct = sum(1 for a, g in pairs if a == g)
    return {
        "accuracy": correct / len(pairs) if pairs else None,
        "precision": both / n_answered if n_answered else None,
        "recall": both / n_answerable if n_answerable else None,
    }


def spread_seconds(cumulative: Sequence[float]) -> list[float]:
    """Per-question seconds from one batched call's cumulative clock (`Answer.seconds`).

    The batch's first reading is mostly the shared embedding pass, so it is spread evenly over
    the batch; each later question adds its own scoring time. The parts sum to the batch's time.
    """
    if not cumulative:
        return []
    share = cumulative[0] / len(cumulative)
    steps = [0.0] + [max(0.0, b - a) for a, b in zip(cumulative, cumulative[1:])]
    return [share + step for step in steps]


def mean_or_none(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def share(flags: Sequence[bool]) -> float | None:
    return sum(1 for f in flags if f) / len(flags) if flags else None


# -- one question, judged ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one question asked of one corpus, reduced to what the metrics need."""

    id: str
    title: str
    impossible: bool
    certain: bool
    rank: int | None  # 1-based rank of the first quote holding the gold answer start
    ans1: bool
    ans3: bool
    para1: bool
    story1: bool  # the first quote comes from the question's own story
    chars_first: int
    chars_all: int
    confidence: float
    answered: bool
    seconds: float = 0.0


def story_file(title: str) -> str:
    """The file name `index.qa` gives a story: its SQuAD title plus `.txt`."""
    return f"{title}.txt"


def judge(question: QAQuestion, answer: Answer, seconds: float = 0.0) -> Outcome:
    """Score one answer against the gold data (pure: no engine needed)."""
    quotes = answer.quotes
    first = quotes[0] if quotes else None
    file = story_file(question.title)
    return Outcome(
        id=question.id,
        title=question.title,
        impossible=question.impossible,
        certain=question.certain,
        rank=None if question.impossible else hit_rank(quotes, question.paragraph, question.answer_start, file),
        ans1=first is not None and contains_answer(first.text, question.answers),
        ans3=any(contains_answer(q.text, question.answers) for q in quotes[:3]),
        para1=first is not None and first.file == file and first.paragraph == question.paragraph,
        story1=first is not None and first.file == file,
        chars_first=len(first.text) if first else 0,
        chars_all=sum(len(q.text) for q in quotes),
        confidence=float(answer.confidence),
        answered=answer.answered,
        seconds=seconds,
    )


# -- summaries --------------------------------------------------------------------------------


def _at(rank: int | None, k: int) -> bool:
    return rank is not None and rank <= k


def retrieval_metrics(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """sent@k, ans@k, para@1, MRR@3 and quote lengths over the answerable questions."""
    ok = [o for o in outcomes if not o.impossible]
    certain = [o for o in ok if o.certain]
    answered = [o for o in outcomes if o.answered]
    return {
        "n_answerable": len(ok),
        "n_certain": len(certain),
        "sent@1": share([_at(o.rank, 1) for o in ok]),
        "sent@3": share([_at(o.rank, 3) for o in ok]),
        "sent@1c": share([_at(o.rank, 1) for o in certain]),
        "sent@3c": share([_at(o.rank, 3) for o in certain]),
        "ans@1": share([o.ans1 for o in ok]),
        "ans@3": share([o.ans3 for o in ok]),
        "para@1": share([o.para1 for o in ok]),
        "story@1": share([o.story1 for o in ok]),
        "mrr@3": mean_or_none([1.0 / o.rank if o.rank else 0.0 for o in ok]),
        "chars_quote1": mean_or_none([o.chars_first for o in ok if o.chars_first]),
        "chars_answer": mean_or_none([o.chars_all for o in answered]),
    }


def abstention_metrics(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Answerable against impossible questions: AUROC of confidence, and the shipped threshold."""
    answerable = [not o.impossible for o in outcomes]
    thr = threshold_metrics([o.answered for o in outcomes], answerable)
    pos = [o.confidence for o in outcomes if not o.impossible]
    neg = [o.confidence for o in outcomes if o.impossible]
    return {
        "n_impossible": len(neg),
        "auroc_impossible": auroc(pos, neg),
        "acc_thr": thr["accuracy"] if neg else None,
        "precision_thr": thr["precision"] if neg else None,
        "recall_thr": thr["recall"],
        "answered": share([o.answered for o in outcomes]),
    }


def offstory_metrics(own: Sequence[Outcome], off: Sequence[Outcome]) -> dict[str, Any]:
    """Answerable questions asked of another story: confidence should drop, answers be refused."""
    pos = [o.confidence for o in own if not o.impossible]
    return {
        "n_offstory": len(off),
        "auroc_offstory": auroc(pos, [o.confidence for o in off]),
        "offstory_refused": share([not o.answered for o in off]),
    }


def timing_metrics(outcomes: Sequence[Outcome], build_seconds: float, answer_seconds: float) -> dict[str, Any]:
    per_question = [o.seconds for o in outcomes]
    return {
        "seconds_median": statistics.median(per_question) if per_question else None,
        "seconds_mean": mean_or_none(per_question),
        "build_seconds": build_seconds,
        "answer_seconds": answer_seconds,
    }


def per_story(outcomes: Sequence[Outcome]) -> dict[str, dict[str, Any]]:
    """A few figures per story, to spot a story the engine handles badly."""
    out: dict[str, dict[str, Any]] = {}
    for title in sorted({o.title for o in outcomes}):
        mine = [o for o in outcomes if o.title == title]
        ok = [o for o in mine if not o.impossible]
        out[title] = {
            "questions": len(mine),
            "sent@1c": share([_at(o.rank, 1) for o in ok if o.certain]),
            "auroc_impossible": auroc([o.confidence for o in ok], [o.confidence for o in mine if o.impossible]),
            "answered": share([o.answered for o in mine]),
        }
    return out


# -- running the engine -----------------------------------------------------------------------

Progress = Callable[[str], None]


def select_questions(qa: QASet, max_questions: int | None) -> QASet:
    """At most `max_questions`, evenly spaced through the file so every story keeps some."""
    n = len(qa.questions)
    if not max_questions or max_questions >= n:
        return qa
    picked = tuple(qa.questions[(i * n) // max_questions] for i in range(max_questions))
    return replace(qa, questions=picked)


def _as_answer(result: Answer | QuestionError, question: str, threshold: float) -> Answer:
    """A question the engine rejects (empty, too long) counts as refused with no quotes."""
    if isinstance(result, Answer):
        return result
    return Answer(question, (), 0.0, threshold, "", 0.0)


def ask_all(engine: Engine, questions: Sequence[QAQuestion], k: int = 3) -> tuple[list[Outcome], float]:
    """Ask a batch of questions of one engine (one embedding pass); outcomes and wall seconds."""
    if not questions:
        return [], 0.0
    started = time.perf_counter()
    results = engine.answer_many([q.question for q in questions], k=k)
    wall = time.perf_counter() - started
    answers = [_as_answer(r, q.question, engine.scorer.threshold) for r, q in zip(results, questions)]
    cumulative: list[float] = []
    for a in answers:
        cumulative.append(max(a.seconds, cumulative[-1] if cumulative else 0.0))
    return [judge(q, a, s) for q, a, s in zip(questions, answers, spread_seconds(cumulative))], wall


class StoryVectorCache(Embedder):
    """Remembers the vectors of story texts so the pooled index reuses the per-story ones.

    Only texts embedded while `remembering` (index builds) are kept; questions always go to
    the model, so the seconds per question stay honest.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.remembering = False
        self._vectors: dict[str, np.ndarray] = {}

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_batch(texts)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not self.remembering:
            return self.inner.embed(texts, batch_size=batch_size, progress=progress)
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            fresh = self.inner.embed(missing, batch_size=batch_size, progress=progress)
            self._vectors.update(zip(missing, fresh))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self._vectors[text]
        return out


@dataclass
class _Clock:
    build: float = 0.0
    answer: float = 0.0


def _engine(corpus: Corpus, embedder: Embedder, scorer: Scorer, clock: _Clock) -> Engine:
    """An in-memory engine; with a StoryVectorCache, the story texts' vectors are remembered."""
    started = time.perf_counter()
    cache = embedder if isinstance(embedder, StoryVectorCache) else None
    if cache:
        cache.remembering = True
    try:
        engine = Engine.from_corpus(corpus, embedder, scorer=scorer)
    finally:
        if cache:
            cache.remembering = False
    clock.build += time.perf_counter() - started
    return engine


def run_own(qa: QASet, embedder: Embedder, scorer: Scorer, progress: Progress | None = None) -> dict[str, Any]:
    """Each question asked of its own story; each answerable one also of the next story by title."""
    titles = sorted(qa.stories)
    by_title: dict[str, list[QAQuestion]] = {t: [] for t in titles}
    for q in qa.questions:
        by_title[q.title].append(q)
    clock = _Clock()
    own: list[Outcome] = []
    off: list[Outcome] = []
    for i, title in enumerate(titles):
        built_before = clock.build
        engine = _engine(qa.corpus_of(title), embedder, scorer, clock)
        outcomes, wall = ask_all(engine, by_title[title])
        clock.answer += wall
        own += outcomes
        if len(titles) > 1:
            # This story is the "next story by title" of the previous one (wrapping around).
            previous = titles[i - 1]
            off_outcomes, _ = ask_all(engine, [q for q in by_title[previous] if not q.impossible])
            off += off_outcomes
        if progress:
            progress(f"[{i + 1}/{len(titles)}] {title}: indexed in {clock.build - built_before:.1f} s, {len(outcomes)} questions in {wall:.1f} s")
    return {
        **retrieval_metrics(own),
        **abstention_metrics(own),
        **offstory_metrics(own, off),
        **timing_metrics(own, clock.build, clock.answer),
        "per_story": per_story(own),
    }


def run_pooled(qa: QASet, embedder: Embedder, scorer: Scorer, progress: Progress | None = None) -> dict[str, Any]:
    """Every story in one corpus, as the bot sees a real corpus; every question asked of it all."""
    clock = _Clock()
    engine = _engine(qa.pooled(), embedder, scorer, clock)
    if progress:
        progress(f"pooled: indexed {len(qa.stories)} stories in {clock.build:.1f} s; asking {len(qa.questions)} questions")
    outcomes, clock.answer = ask_all(engine, qa.questions)
    return {**retrieval_metrics(outcomes), **abstention_metrics(outcomes), **timing_metrics(outcomes, clock.build, clock.answer)}


def evaluate(
    qa: QASet,
    embedder: Embedder,
    *,
    mode: str = "own",
    scorer: Scorer | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The whole report as plain data (what `storybot eval --json` prints)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    scorer = scorer or load_scorer()
    started = time.perf_counter()
    cache = StoryVectorCache(embedder)
    report: dict[str, Any] = {
        "set": qa.name,
        "stories": len(qa.stories),
        "questions": len(qa.questions),
        "answerable": sum(1 for q in qa.questions if not q.impossible),
        "impossible": sum(1 for q in qa.questions if q.impossible),
        "mode": mode,
        "model": embedder.model_id,
        "threshold": scorer.threshold,
        "scorer": scorer.meta.get("trained_on", ""),
    }
    if mode in ("own", "both"):
        report["own"] = run_own(qa, cache, scorer, progress)
    if mode in ("pooled", "both"):
        report["pooled"] = run_pooled(qa, cache, scorer, progress)
    report["total_seconds"] = time.perf_counter() - started
    report["baselines"] = BASELINES.get(qa.name, {})
    return report


# -- the table --------------------------------------------------------------------------------

# (label, metric key, baseline key or None, denominator key or None)
OWN_ROWS: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("sent@1 (answerable)", "sent@1", "sent@1", "n_answerable"),
    ("sent@3 (answerable)", "sent@3", "sent@3", "n_answerable"),
    ("sent@1c (strict: gold certain)", "sent@1c", "sent@1c", "n_certain"),
    ("sent@3c (strict: gold certain)", "sent@3c", "sent@3c", "n_certain"),
    ("ans@1", "ans@1", "ans@1", "n_answerable"),
    ("ans@3", "ans@3", "ans@3", "n_answerable"),
    ("para@1", "para@1", "para@1", "n_answerable"),
    ("MRR (storybot: over 3 quotes)", "mrr@3", "mrr", "n_answerable"),
    ("chars per first quote", "chars_quote1", None, None),
    ("chars per answer shown (all quotes)", "chars_answer", None, None),
    ("AUROC answerable vs impossible", "auroc_impossible", "auroc_impossible", "n_impossible"),
    ("accuracy at threshold", "acc_thr", "acc_thr", None),
    ("precision at threshold", "precision_thr", None, None),
    ("recall at threshold", "recall_thr", None, "n_answerable"),
    ("share answered", "answered", None, None),
    ("AUROC own vs off-story", "auroc_offstory", "auroc_offstory", "n_offstory"),
    ("off-story refused", "offstory_refused", None, "n_offstory"),
    ("seconds per question, median", "seconds_median", None, None),
    ("seconds per question, mean", "seconds_mean", None, None),
    ("seconds answering, total", "answer_seconds", None, None),
    ("seconds building indexes", "build_seconds", None, None),
)
POOLED_ROWS: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("pooled sent@1 (answerable)", "sent@1", None, "n_answerable"),
    ("pooled sent@1c (strict)", "sent@1c", None, "n_certain"),
    ("pooled first quote from right story", "story@1", None, "n_answerable"),
    ("pooled AUROC answerable vs impossible", "auroc_impossible", None, "n_impossible"),
    ("pooled accuracy at threshold", "acc_thr", None, None),
    ("pooled recall at threshold", "recall_thr", None, None),
    ("pooled seconds per question, median", "seconds_median", None, None),
    ("pooled seconds per question, mean", "seconds_mean", None, None),
    ("pooled seconds answering, total", "answer_seconds", None, None),
    ("pooled seconds building the index", "build_seconds", None, None),
)


def format_value(value: object) -> str:
    """Shares and AUROCs with 3 decimals, seconds with 4 significant digits, lengths whole."""
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if abs(value) >= 10:
            return f"{value:.0f}"
        if abs(value) < 0.1 and value != 0:
            return f"{value:.4f}"
        return f"{value:.3f}"
    return str(value)


def _rows(report: dict[str, Any]) -> list[list[str]]:
    methods = list(report.get("baselines", {}))
    rows = []
    for section, specs in (("own", OWN_ROWS), ("pooled", POOLED_ROWS)):
        metrics = report.get(section)
        if not metrics:
            continue
        for label, key, base_key, n_key in specs:
            if metrics.get(key) is None:
                continue  # e.g. no impossible questions in squad1
            bases = [format_value(report["baselines"][m].get(base_key)) if base_key else "" for m in methods]
            rows.append([label, format_value(metrics.get(key)), *bases, str(metrics.get(n_key, "")) if n_key else ""])
    return rows


def format_table(report: dict[str, Any]) -> str:
    """An aligned Markdown table: readable at a terminal, pasteable into the README."""
    methods = list(report.get("baselines", {}))
    header = ["metric", "storybot", *methods, "n"]
    rows = _rows(report)
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|"
    title = (
        f"{report['set']}: {report['stories']} stories, {report['questions']} questions "
        f"({report['answerable']} answerable, {report['impossible']} impossible); mode {report['mode']}; "
        f"threshold {report['threshold']:.3f}; {report['total_seconds']:.0f} s in all"
    )
    lines = [title, "", line(header), rule, *(line(r) for r in rows)]
    notes = []
    if report["mode"] == "both":
        notes.append("The pooled index reuses the vectors of the per-story indexes, so its build is quick here.")
    if methods:
        notes.append("Baselines: ../shared/data/qa/README.md (test split; single sentences, so sent@k is stricter for them).")
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)
