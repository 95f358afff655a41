"""Run one wrk measurement (one thread, loopback only) and read the figures post.lua prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parent / "post.lua"
MARK = "BENCH_JSON "


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("error: wrk not found on PATH (Debian: apt-get install wrk)")
    return found


def run_wrk(url: str, body_file: Path, connections: int, seconds: float) -> dict[str, Any]:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the benchmark only sends traffic to 127.0.0.1, not {url}")
    command = [
        wrk_binary(),
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
    ]
    env = dict(os.environ, BENCH_BODY=str(body_file))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")
    figures: dict[str, Any] = json.loads(line[len(MARK) :])
    seconds_run = figures["duration_us"] / 1e6
    errors = sum(figures["errors"].values())
    figures["requests_per_s"] = (figures["requests"] - figures["errors"]["status"]) / seconds_run
    figures["error_count"] = errors
    return figures
