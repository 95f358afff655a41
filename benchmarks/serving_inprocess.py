"""In-process figures for the model server: predict latency (scikit-learn with a DataFrame per call vs
the compiled NumPy path), request decoding, and cold start of the real server (spawn -> /health/ready).

    .venv/bin/python -m benchmarks.serving_inprocess [--artifact DIR] [--repeat 5] [--cold-starts 3]

Without --artifact it trains both supported estimators with the training package (as the tests do).
Thread pools are limited to one thread, as in each server worker. Figures are medians of --repeat runs.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def per_call_us(fn: Callable[[], object], seconds: float = 0.3, repeat: int = 5) -> float:
    """Median over ``repeat`` runs of the mean time per call, each run lasting about ``seconds``."""
    fn()
    calls = 1
    start = time.perf_counter()
    while time.perf_counter() - start < seconds / 10:
        fn()
        calls += 1
    n = max(3, calls * 10)  # about ``seconds`` per run
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(runs)


def predict_figures(artifact: Path, repeat: int) -> list[tuple[str, int, float, float, float]]:
    from serving.predictor import Predictor

    predictor = Predictor.from_artifact(artifact, max_rows=10_000)
    assert predictor.backend == "compiled", predictor.fallback_reason
    out = []
    for n in (1, 64):
        rows = predictor.self_check_batch(n=n, seed=1).rows()[-n:]
        body = json.dumps({"rows": rows})
        batch = predictor.schema.decode_records(rows)
        decode = per_call_us(
            lambda b=body: predictor.schema.decode_records(json.loads(b)["rows"]), repeat=repeat
        )
        sk = per_call_us(lambda b=batch: predictor.predict_sklearn(b), repeat=repeat)
        fast = per_call_us(lambda b=batch: predictor.predict(b), repeat=repeat)
        out.append((str(predictor.metadata.get("estimator")), n, sk, fast, decode))
    return out


def cold_start(artifact: Path, runs: int) -> list[float]:
    """Seconds from spawning `python -m serving` (2 workers, preloaded) to a 200 from /health/ready.
    The first run starts with an empty cache (scikit-learn loads the model and the plan is made); the
    others find the plan cached for the digest."""
    sys.path.insert(0, str(REPO))
    from tests.conftest import free_port

    times = []
    cache = tempfile.mkdtemp(prefix="serving-bench-cache-")
    for _ in range(runs):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_SERVER_")}
        env.update(
            MODEL_SERVER_MODEL_URI=str(artifact),
            MODEL_SERVER_PORT=str(port),
            MODEL_SERVER_LOG_LEVEL="WARNING",
            MODEL_SERVER_CACHE_DIR=cache,
        )
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "serving"], cwd=REPO, env=env, stderr=subprocess.DEVNULL
        )
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None:
                        raise RuntimeError("server exited before it was ready") from None
                    time.sleep(0.01)
            times.append(time.monotonic() - start)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifact", type=Path, action="append", help="artifact dir (repeatable)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cold-starts", type=int, default=3)
    args = parser.parse_args()
    artifacts = args.artifact
    if not artifacts:
        sys.path.insert(0, str(REPO))
        from tests.helpers.artifacts import build_artifact

        tmp = Path(tempfile.mkdtemp(prefix="serving-bench-"))
        artifacts = [build_artifact(tmp / e, e) for e in ("logistic_regression", "hist_gradient_boosting")]
    print(
        f"{'estimator':<24} {'rows':>4} {'sklearn+DataFrame':>18} {'compiled':>10} {'speed-up':>9} {'decode JSON':>12}"
    )
    for artifact in artifacts:
        for estimator, n, sk, fast, decode in predict_figures(artifact, args.repeat):
            print(
                f"{estimator:<24} {n:>4} {sk:>15.0f} us {fast:>7.0f} us {sk / fast:>8.1f}x {decode:>9.0f} us"
            )
    if args.cold_starts:
        first, *cached = cold_start(artifacts[0], max(2, args.cold_starts))
        load = os.getloadavg()[0]
        print(f"cold start to ready (local model, 2 workers; load average {load:.1f}):")
        print(f"  first start of this digest (scikit-learn load, plan made and cached): {first:.2f} s")
        print(f"  later starts (cached plan): median {statistics.median(cached):.2f} s "
              f"(runs: {', '.join(f'{t:.2f}' for t in cached)})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
