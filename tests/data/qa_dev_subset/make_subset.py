"""Rebuild this folder from the full data: python tests/data/qa_dev_subset/make_subset.py ../shared/data/qa/squad2

The rule: the first STORIES titles of squad2 `dev` in sorted order, and of each story's
questions (in file order) every EVERY-th one, starting with the first.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

STORIES = 3
EVERY = 2


def main(source: Path) -> None:
    here = Path(__file__).resolve().parent
    stories = [json.loads(line) for line in (source / "dev_stories.jsonl").open(encoding="utf-8") if line.strip()]
    chosen = sorted(s["title"] for s in stories)[:STORIES]
    questions = [json.loads(line) for line in (source / "dev_questions.jsonl").open(encoding="utf-8") if line.strip()]
    kept = []
    for title in chosen:
        mine = [q for q in questions if q["title"] == title]
        kept += mine[::EVERY]
    with (here / "dev_stories.jsonl").open("w", encoding="utf-8") as out:
        for story in sorted((s for s in stories if s["title"] in chosen), key=lambda s: s["title"]):
            out.write(json.dumps(story, ensure_ascii=False) + "\n")
    with (here / "dev_questions.jsonl").open("w", encoding="utf-8") as out:
        for question in kept:
            out.write(json.dumps(question, ensure_ascii=False) + "\n")
    print(f"{len(chosen)} stories, {len(kept)} questions ({sum(q['is_impossible'] for q in kept)} impossible)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
