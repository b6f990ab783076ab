"""Pure metrics of answer quality: quotes and numbers in, numbers out, so they can be tested by hand.

Definitions follow the QA data's README: the data's paragraphs are 0-based, `QAQuestion.paragraph`
and `Quote.paragraph` are 1-based, so they compare directly. `sent@k` is on all answerable
questions, `sent@kc` only on those whose gold sentence is certain (the strict figure). A
storybot quote may join adjacent sentences, so read `sent@k` together with the quote lengths.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from index.quality.qa import QAQuestion
from index.types import OUTCOMES, Answer, Quote

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
    steps = [0.0] + [max(0.0, b - a) for a, b in pairwise(cumulative)]
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
    outcome: str = ""  # answered, unsure or not_in_story
    marked: bool = False  # the first quote has its answer words marked
    mark_right: bool = False  # ...and the mark overlaps the gold answer


def story_file(title: str) -> str:
    """The file name `index.quality.qa` gives a story: its SQuAD title plus `.txt`."""
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
        outcome=answer.outcome,
        marked=first is not None and first.answer_span is not None,
        mark_right=first is not None and mark_overlaps_gold(first, question),
    )


def mark_overlaps_gold(quote: Quote, question: QAQuestion) -> bool:
    """Does the marked answer overlap the gold answer (its offsets, or any annotator's text)?"""
    if quote.answer_start is None or quote.answer_end is None:
        return False
    marked = quote.text[quote.answer_start - quote.start : quote.answer_end - quote.start]
    if any(a and (a in marked or marked in a) for a in question.answers):
        return True
    if question.answer_start is None or not question.answers:
        return False
    gold_end = question.answer_start + max(len(a) for a in question.answers)
    return quote.answer_start < gold_end and question.answer_start < quote.answer_end


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
        "marked": share([o.marked for o in ok if o.rank == 1]),
        "mark_precision": share([o.mark_right for o in ok if o.marked]),
    }


def outcome_shares(outcomes: Sequence[Outcome], prefix: str) -> dict[str, float | None]:
    """The shares of answered, unsure and not_in_story among some questions."""
    return {f"{prefix}_{kind}": share([o.outcome == kind for o in outcomes]) for kind in OUTCOMES}


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
        **outcome_shares([o for o in outcomes if not o.impossible], "answerable"),
        **outcome_shares([o for o in outcomes if o.impossible], "impossible"),
    }


def offstory_metrics(own: Sequence[Outcome], off: Sequence[Outcome]) -> dict[str, Any]:
    """Answerable questions asked of another story: confidence should drop, answers be refused."""
    pos = [o.confidence for o in own if not o.impossible]
    return {
        "n_offstory": len(off),
        "auroc_offstory": auroc(pos, [o.confidence for o in off]),
        "offstory_refused": share([not o.answered for o in off]),
        **outcome_shares(off, "offstory"),
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
