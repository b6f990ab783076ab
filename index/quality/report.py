"""The quality report as a table: readable at a terminal, pasteable into the README."""

from __future__ import annotations

import math
from typing import Any

# Baselines published with the SQuAD-derived QA data (its README, "Baselines (test split, all
# questions, no subsampling)"): BM25 (rank_bm25 BM25Okapi) and all-MiniLM-L6-v2 cosine, each
# ranking single sentences of the question's own story. Their "mrr" is over the full ranking
# (storybot reports MRR over its 3 quotes); their acc_thr uses a threshold picked on dev.
BASELINES: dict[str, dict[str, dict[str, float]]] = {
    "squad2/test": {
        "bm25": {
            "sent@1": 0.699,
            "sent@3": 0.840,
            "sent@1c": 0.699,
            "sent@3c": 0.838,
            "ans@1": 0.727,
            "ans@3": 0.869,
            "para@1": 0.803,
            "mrr": 0.778,
            "auroc_impossible": 0.541,
            "auroc_offstory": 0.936,
            "acc_thr": 0.529,
        },
        "minilm": {
            "sent@1": 0.631,
            "sent@3": 0.809,
            "sent@1c": 0.632,
            "sent@3c": 0.811,
            "ans@1": 0.669,
            "ans@3": 0.844,
            "para@1": 0.767,
            "mrr": 0.732,
            "auroc_impossible": 0.641,
            "auroc_offstory": 0.997,
            "acc_thr": 0.597,
        },
    },
    "squad1/test": {
        "bm25": {
            "sent@1": 0.639,
            "sent@3": 0.794,
            "sent@1c": 0.638,
            "sent@3c": 0.793,
            "ans@1": 0.667,
            "ans@3": 0.823,
            "para@1": 0.751,
            "mrr": 0.728,
            "auroc_offstory": 0.926,
        },
        "minilm": {
            "sent@1": 0.564,
            "sent@3": 0.743,
            "sent@1c": 0.568,
            "sent@3c": 0.747,
            "ans@1": 0.601,
            "ans@3": 0.782,
            "para@1": 0.700,
            "mrr": 0.670,
            "auroc_offstory": 0.996,
        },
    },
}


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
    ("answer words marked (first quote holds the answer)", "marked", None, None),
    ("marks overlapping the gold answer", "mark_precision", None, None),
    ("AUROC answerable vs impossible", "auroc_impossible", "auroc_impossible", "n_impossible"),
    ("accuracy at threshold", "acc_thr", "acc_thr", None),
    ("precision at threshold", "precision_thr", None, None),
    ("recall at threshold", "recall_thr", None, "n_answerable"),
    ("share answered", "answered", None, None),
    ("answerable: answered", "answerable_answered", None, "n_answerable"),
    ("answerable: unsure", "answerable_unsure", None, "n_answerable"),
    ("answerable: not in story", "answerable_not_in_story", None, "n_answerable"),
    ("impossible: answered", "impossible_answered", None, "n_impossible"),
    ("impossible: unsure", "impossible_unsure", None, "n_impossible"),
    ("impossible: not in story", "impossible_not_in_story", None, "n_impossible"),
    ("AUROC own vs off-story", "auroc_offstory", "auroc_offstory", "n_offstory"),
    ("off-story refused", "offstory_refused", None, "n_offstory"),
    ("off-story: answered", "offstory_answered", None, "n_offstory"),
    ("off-story: unsure", "offstory_unsure", None, "n_offstory"),
    ("off-story: not in story", "offstory_not_in_story", None, "n_offstory"),
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
        notes.append(
            "Baselines: the QA data's own README (test split; single sentences, so sent@k is stricter for them)."
        )
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)
