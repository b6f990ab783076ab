"""storybot benchmark: latency, throughput, builds, memory and search at scale, beside targets.

    python benchmarks/bench.py [--data ../shared/data/qa] [--scale 200000] [--skip-scale] [--runtime torch]

Everything runs on this machine against loopback-free, in-process code (plus child processes
for cold start and peak memory). Reads SQuAD stories from --data for the large corpus.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import wait
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# faiss is imported up front, as opening any index does, so that the first build's figures
# measure building and not a one-time 0.1 s import (40 texts take 0.5 s to build).
import faiss  # noqa: E402

from index import Engine, EngineConfig, build_index  # noqa: E402
from index.batching import MicroBatcher  # noqa: E402
from index.embedding.embedder import Embedder  # noqa: E402
from index.embedding.runtime import RUNTIMES, load_embedder  # noqa: E402
from index.quality.qa import load_qa_set  # noqa: E402
from index.retrieval.features import ranked_rows  # noqa: E402
from index.retrieval.rerank import reread_rows  # noqa: E402
from index.store.build import BuildReport  # noqa: E402
from index.tuning import TUNING_VARIABLES, freeze_loaded_objects, tune_process  # noqa: E402

ROWS: list[tuple[str, str, str, str]] = []


def row(section: str, name: str, value: str, target: str = "") -> None:
    ROWS.append((section, name, value, target))
    print(f"{section:<14} {name:<46} {value:>16}   {target}", flush=True)


def percentiles(values: list[float]) -> tuple[float, float, float]:
    a = np.array(values) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 95)), float(np.percentile(a, 99))


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


BUNDLED_QUESTIONS = [
    "How many people did the NYPD lock up in 2016?",
    "Who is the head of the NYPD sergeants union?",
    "What did Preet Bharara tweet?",
    "What did the DOJ spokesperson say about the city's police?",
    "Who won the 2018 World Cup?",
    "What does Mullins hope the mayor will do?",
    "How did O'Neill feel when he read the DOJ statement?",
    "Which Republican congressman praised the NYPD?",
]


def cold_start(workdir: Path, config: EngineConfig) -> float:
    """Process start to first answer, with the index already built (and the model cache filled, if used)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "STORYBOT_MODEL_CACHE_DIR": str(config.model_cache_dir),
        "STORYBOT_EMBEDDING_RUNTIME": config.runtime,
    }
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "--json", BUNDLED_QUESTIONS[0]],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def warm_latency(engine: Engine, questions: list[str], rounds: int) -> list[float]:
    for q in questions[:5]:
        engine.answer(q)
    times = []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            engine.answer(q)
            times.append(time.perf_counter() - t)
    return times


def bursts(questions: list[str], size: int, rounds: int) -> list[list[str]]:
    return [[questions[(r * size + i) % len(questions)] for i in range(size)] for r in range(rounds)]


def in_flight_and_raw(
    engine: Engine, batches: list[list[str]], raw: Callable[[int, list[str]], object]
) -> tuple[float, float, float]:
    """Throughput with each batch's questions submitted at once, its p95 latency, and the raw rate
    of the slowest model on exactly the same batches (questions/s, ms, questions/s): `raw(i, batch)`
    runs the model alone on what batch i needs (the embedding model on its questions, or the
    reranker on the pairs they reread).

    This machine's speed drifts by 10-15% within seconds, so the two are timed batch by batch in
    alternation (which one goes first alternates too): a slow spell lands on both sides of the
    ratio instead of on whichever ran during it.
    """
    flight_seconds = raw_seconds = 0.0
    latencies: list[float] = []
    with MicroBatcher(engine, max_batch=len(batches[0])) as batcher:
        batcher.submit(batches[0][0]).result()
        for turn, batch in enumerate(batches):
            for side in ("raw", "flight") if turn % 2 == 0 else ("flight", "raw"):
                t0 = time.perf_counter()
                if side == "raw":
                    raw(turn, batch)
                    raw_seconds += time.perf_counter() - t0
                    continue
                futures = [batcher.submit(q) for q in batch]
                done: list[float] = []
                for f in futures:
                    f.add_done_callback(lambda _f, sink=done: sink.append(time.perf_counter()))
                wait(futures)
                flight_seconds += time.perf_counter() - t0
                latencies.extend(t - t0 for t in done)
    total = sum(map(len, batches))
    return total / flight_seconds, percentiles(latencies)[1], total / raw_seconds


def reread_pairs(engine: Engine, batch: list[str]) -> tuple[list[str], list[str]]:
    """The (question, sentence) pairs the reranker rereads for a batch, as the engine's first stage picks them."""
    stage = engine.second_stage
    assert stage is not None
    candidates = engine.retriever.candidates(batch, engine.embedder.embed(batch, batch_size=len(batch)))
    scores = engine.scorer.rank_scores(candidates.features)
    rows = reread_rows(ranked_rows(scores, candidates.offsets), candidates.offsets, stage.candidates)
    owner = candidates.question_of[rows]
    return [batch[q] for q in owner], [engine.retriever.sentence_text(int(i)) for i in candidates.ids[rows]]


def warm_up(embedder: Embedder, batches: list[list[str]]) -> None:
    """One untimed pass, so the runtime meets these batch shapes before either side is timed."""
    for batch in batches:
        embedder.embed(batch, batch_size=len(batch))


def build_and_raw_rates(config: EngineConfig, embedder: Embedder, texts: list[str]) -> tuple[BuildReport, float, float]:
    """A full build (fresh index, empty embedding cache) and the model alone on the same texts:
    the build, its texts embedded per second, and the raw rate.

    A build under a minute is timed three times against three raw runs, alternating, and the
    medians are kept: half-second figures (the bundled story) moved by 20% from run to run. The
    last build stays in `config.index_dir`.
    """
    build_rates, raw_rates = [], []
    for attempt in range(3):
        if attempt:
            shutil.rmtree(config.index_dir)
        report = build_index(config, embedder)
        build_rates.append(report.embedded / report.seconds)
        started = time.perf_counter()
        embedder.embed(texts, batch_size=config.batch_size)
        raw_rates.append(len(texts) / (time.perf_counter() - started))
        if report.seconds > 60:
            break
    return report, float(np.median(build_rates)), float(np.median(raw_rates))


def write_squad_corpus(data: Path, folder: Path) -> list[str]:
    """All squad1 stories (dev and test) as corpus files; returns their questions."""
    folder.mkdir(parents=True, exist_ok=True)
    questions = []
    for split in ("dev", "test"):
        qa = load_qa_set(data / "squad1", split)
        for story in qa.stories.values():
            body = "\n".join(story.paragraphs)
            (folder / story.file).write_text(f"---\ntitle: {story.title}\n---\n{body}\n", encoding="utf-8")
        questions += [q.question for q in qa.questions]
    return questions


def bench_serving(
    label: str, engine: Engine, embedder: Embedder, questions: list[str], targets: dict[str, str]
) -> None:
    """Warm latency one question at a time, and bursts of 64 in flight against the slowest model alone."""
    reranking = engine.second_stage is not None and engine.heads.reranker is not None
    p50, p95, p99 = percentiles(warm_latency(engine, questions[:200], rounds=max(1, 400 // len(questions[:200]))))
    row(label, "warm latency p50 (ms)", f"{p50:.1f}", targets.get("p50_reranked" if reranking else "p50", ""))
    row(label, "warm latency p95 (ms)", f"{p95:.1f}")
    row(label, "warm latency p99 (ms)", f"{p99:.1f}", "" if reranking else targets.get("p99", ""))
    batches = bursts(questions, 64, rounds=20)
    warm_up(embedder, batches)
    if reranking:
        reranker = engine.heads.reranker
        assert reranker is not None
        pairs = [reread_pairs(engine, batch) for batch in batches]
        for qs, passages in pairs[:3]:
            reranker.score(qs, passages)
        rate, p95_flight, raw_rate = in_flight_and_raw(engine, batches, lambda i, _: reranker.score(*pairs[i]))
        row(label, "64 in flight: throughput (questions/s)", f"{rate:.0f}")
        row(label, "reranker alone on the pairs they reread (questions/s)", f"{raw_rate:.0f}")
        row(label, "  pairs reread per question", f"{np.mean([len(p[0]) for p in pairs]) / 64:.1f}")
        row(label, "64 in flight: throughput / reranker alone", f"{rate / raw_rate:.2f}", "≥ 0.80")
    else:
        rate, p95_flight, raw_rate = in_flight_and_raw(
            engine, batches, lambda _, batch: embedder.embed(batch, batch_size=len(batch))
        )
        row(label, "64 in flight: throughput (questions/s)", f"{rate:.0f}")
        row(label, "raw batched encoding rate (questions/s)", f"{raw_rate:.0f}")
        row(label, "64 in flight: throughput / raw", f"{rate / raw_rate:.2f}", "≥ 0.80")
    row(label, "64 in flight: p95 latency (ms)", f"{p95_flight:.0f}", "" if reranking else "≤ 300")


def bench_corpus(
    label: str,
    corpus: Path,
    questions: list[str],
    embedder: Embedder,
    base: EngineConfig,
    targets: dict[str, str],
    extra_story: str,
) -> None:
    work = Path(tempfile.mkdtemp(prefix="storybot-bench-"))
    try:
        shutil.copytree(corpus, work / "corpus")
        config = replace(base, corpus_dir=work / "corpus", index_dir=work / ".storybot" / "index")
        from index.corpus.stories import load_corpus
        from index.store.build import prepare

        prepared = prepare(load_corpus(config.corpus_dir))
        texts = list(dict.fromkeys(prepared.sentence_texts + prepared.paragraph_texts))
        report, texts_rate, raw = build_and_raw_rates(config, embedder, texts)
        row(label, "index build (s)", f"{report.embedded / texts_rate:.2f}")
        row(label, "texts embedded per second (build)", f"{texts_rate:.0f}")
        row(label, "raw model rate on the same texts (/s)", f"{raw:.0f}")
        row(label, "build rate / raw rate", f"{texts_rate / raw:.2f}", "≥ 0.80")
        row(label, "sentences", f"{report.sentences}")
        row(label, "index size on disk (MB)", f"{folder_size(config.index_dir) / 1e6:.1f}")

        (config.corpus_dir / "zz-added-story.txt").write_text(extra_story, encoding="utf-8")
        one = prepare(load_corpus(config.corpus_dir))
        t = time.perf_counter()
        incremental = build_index(config, embedder)
        inc_seconds = time.perf_counter() - t
        story_texts = [s for s in dict.fromkeys(one.sentence_texts + one.paragraph_texts) if s in extra_story]
        t = time.perf_counter()
        embedder.embed(story_texts, batch_size=config.batch_size)
        story_embed = time.perf_counter() - t
        row(label, "rebuild after adding one story (s)", f"{inc_seconds:.2f}", targets.get("rebuild", ""))
        row(label, "  of which that story's embedding (s)", f"{story_embed:.2f}  ({incremental.embedded} texts)")
        row(
            label,
            "  rebuild minus story embedding (s)",
            f"{inc_seconds - story_embed:.2f}",
            "≤ 5" if "rebuild" in targets else "",
        )

        engine = Engine.open(config, build="never", embedder=embedder)
        walked = len(gc.get_objects())
        freeze_loaded_objects()
        row(label, "objects a full collection walks, before → after freeze", f"{walked} → {len(gc.get_objects())}")
        bench_serving(label, engine, embedder, questions, targets)
        if label == "bundled":
            cold = [cold_start(work, config) for _ in range(3)]
            row(label, "cold start to first answer (s, median of 3)", f"{np.median(cold):.2f}", "≤ 8")
            if config.runtime == "auto":
                empty = replace(config, model_cache_dir=work / "empty-model-cache")
                row(label, "  first start ever: makes the ONNX copy (s)", f"{cold_start(work, empty):.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


SCALE_CHILD = r"""
import json, sys, time
import numpy as np, faiss
from index.store.vectors import prepare_for_search
index = faiss.read_index(sys.argv[1])
prepare_for_search(index)
queries = np.load(sys.argv[2])
times = []
for q in queries:
    t = time.perf_counter(); index.search(q.reshape(1, -1), 10); times.append(time.perf_counter() - t)
# VmHWM belongs to this program's own memory map; ru_maxrss would carry the parent's peak over exec.
hwm_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"p50_ms": float(np.median(times) * 1000), "rss_mb": hwm_kb / 1024}))
"""


def bench_scale(embedder: Embedder, real_texts: list[str], questions: list[str], total: int) -> None:

    from index.store.vectors import build_vector_index

    label = f"scale {total // 1000}k"
    real = embedder.embed(real_texts, batch_size=64)
    rng = np.random.default_rng(7)
    need = total - len(real)
    base = real[rng.integers(0, len(real), need)]
    synthetic = base + rng.normal(0, 0.06, base.shape).astype(np.float32)
    synthetic /= np.linalg.norm(synthetic, axis=1, keepdims=True)
    vectors = np.vstack([real, synthetic]).astype(np.float32)
    t = time.perf_counter()
    hnsw = build_vector_index(vectors, "hnsw")
    row(label, "HNSW build (s)", f"{time.perf_counter() - t:.1f}")
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    q = embedder.embed(questions[:500], batch_size=64)
    _, truth = exact.search(q, 10)
    _, found = hnsw.search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found)])
    row(label, "recall@10 against exact search", f"{recall:.3f}", "≥ 0.98")
    work = Path(tempfile.mkdtemp(prefix="storybot-scale-"))
    try:
        faiss.write_index(hnsw, str(work / "v.faiss"))
        np.save(work / "q.npy", q)
        row(label, "index size on disk (MB)", f"{(work / 'v.faiss').stat().st_size / 1e6:.0f}")
        out = subprocess.run(
            [sys.executable, "-c", SCALE_CHILD, str(work / "v.faiss"), str(work / "q.npy")],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        child = json.loads(out.stdout)
        row(label, "search p50 (ms)", f"{child['p50_ms']:.2f}", "≤ 5")
        row(label, "peak RSS of a serving process (MB)", f"{child['rss_mb']:.0f}", "≤ 1000")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def tuning_figures() -> None:
    """Page faults of a worker thread's repeated batch, with and without the malloc tuning."""
    env = {k: v for k, v in os.environ.items() if k not in TUNING_VARIABLES}
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "tuning_probe.py")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    figures = json.loads(done.stdout)
    row("tuning", "malloc thresholds set", str(figures["malloc_tuned"]))
    row(
        "tuning",
        "page faults of a repeated 4 MB batch, untuned → tuned",
        f"{figures['faults_untuned']} → {figures['faults_tuned']}",
        "tuned ≪ untuned",
    )


def serving_embedder(config: EngineConfig) -> Embedder:
    """The embedder a storybot process serves with; any ONNX copy (the model's and the heads') is
    made in a child process first, so this process, like a serving one, never imports PyTorch."""
    if config.runtime == "auto":
        make = (
            "import sys; from pathlib import Path; from index import EngineConfig; from index.embedding.runtime "
            "import load_embedder; from index.heads import load_heads; config = EngineConfig(model_cache_dir="
            "Path(sys.argv[1])); load_embedder(config); load_heads(config)"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
        subprocess.run([sys.executable, "-c", make, str(config.model_cache_dir)], check=True, env=env)
    return load_embedder(config)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "qa")
    parser.add_argument("--scale", type=int, default=200_000)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-bundled", action="store_true")
    parser.add_argument("--no-reranker", action="store_true", help="as STORYBOT_RERANKER=off: the first stage alone")
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="auto",
        help="embedding runtime, as STORYBOT_EMBEDDING_RUNTIME (default auto)",
    )
    args = parser.parse_args()
    tune_process()
    print(f"{'section':<14} {'figure':<46} {'value':>16}   target", flush=True)
    tuning_figures()
    model_cache = Path(tempfile.mkdtemp(prefix="storybot-bench-models-"))
    atexit.register(shutil.rmtree, model_cache, True)
    base = EngineConfig(model_cache_dir=model_cache, runtime=args.runtime, reranker=not args.no_reranker)
    embedder = serving_embedder(base)
    row("model", "embedding runtime", type(embedder).__name__)
    extra = "---\ntitle: Added story\n---\n" + "\n".join(
        f"Paragraph {i} of the added story reports that the council met on day {i} and voted {i} to {i + 1}."
        for i in range(1, 21)
    )
    if not args.skip_bundled:
        bench_corpus(
            "bundled",
            REPO / "corpus",
            BUNDLED_QUESTIONS * 5,
            embedder,
            base,
            {"p50": "≤ 15", "p99": "≤ 40", "p50_reranked": "≤ 60"},
            extra,
        )
        row("bundled", "peak RSS of this process so far (MB)", f"{peak_rss_mb():.0f}")
    if args.skip_large and args.skip_scale:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        questions = write_squad_corpus(args.data, Path(tmp) / "squad")
        if not args.skip_large:
            bench_corpus(
                "large (48)",
                Path(tmp) / "squad",
                questions,
                embedder,
                base,
                {"p50": "≤ 20", "rebuild": "≤ 5 + embedding"},
                extra,
            )
            row("large (48)", "peak RSS of this process so far (MB)", f"{peak_rss_mb():.0f}")
        if not args.skip_scale:
            from index.corpus.stories import load_corpus
            from index.store.build import prepare

            texts = prepare(load_corpus(Path(tmp) / "squad")).sentence_texts
            bench_scale(embedder, texts, questions, args.scale)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
