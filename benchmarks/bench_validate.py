#!/usr/bin/env python3
"""Time `reportgen validate` on a generated manifest set: loading and validation separately, best of N.

    python benchmarks/bench_validate.py                     # 1,000 runs, 2,000 artifact versions
    python benchmarks/bench_validate.py --size L --repeat 5
    python benchmarks/bench_validate.py --runs 5000 --artifacts 10000 --keep /tmp/org

The set comes from benchmarks/generate.py (deterministic for a seed) and is written to a temporary folder
unless --keep names one. "load" is reading and parsing the YAML into located nodes (reportgen.load, on
every core unless --jobs, with the cycle collector paused as the commands do; on several cores the
workers also run the structural checks, as the commands have them do), "validate" is the rest of the
checks and the action replay that build the model (reportgen.validate); "cli" is the whole
`reportgen validate` command in a fresh process, imports included.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TypeVar

from reportgen.load import LoadResult, load_paths
from reportgen.validate import Validation, check_where_parsed, validate
from reportgen.workers import collector_paused, cpu_count

HERE = Path(__file__).resolve().parent
T = TypeVar("T")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reportgen_benchmark_generate", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def _cpu() -> float:
    """Return the CPU time used so far by this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def best_of(repeat: int, func: Callable[[], T]) -> tuple[tuple[float, float], T]:
    """Return the shortest wall and CPU times of ``repeat`` calls of ``func``, and the last result.

    CPU time is shown too because wall time on a shared machine counts the other processes' turns.
    """
    wall, cpu = float("inf"), float("inf")
    result: T | None = None
    for _ in range(repeat):
        gc.collect()
        start, start_cpu = time.perf_counter(), _cpu()
        result = func()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, _cpu() - start_cpu)
    assert result is not None
    return (wall, cpu), result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="M", help="generate.py preset (default M: 50/2000/1000/4000)")
    ap.add_argument("--runs", type=int, default=1_000, help="runs (default 1000)")
    ap.add_argument("--artifacts", type=int, default=2_000, help="artifact versions (default 2000)")
    ap.add_argument("--actions", type=int, help="registry actions (default: the preset's)")
    ap.add_argument("--collections", type=int, help="collections (default: the preset's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="timings to take the best of (default 3)")
    ap.add_argument("--keep", type=Path, help="write the manifests here and keep them")
    ap.add_argument("--no-cli", action="store_true", help="skip timing the command in a new process")
    ap.add_argument(
        "--jobs", type=int, default=0, help="processes parsing the manifests (default 0: every core)"
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    generate = _generator()
    with tempfile.TemporaryDirectory(prefix="reportgen-bench-") as tmp:
        out = args.keep or Path(tmp) / "org"
        gen_args = ["--size", args.size, "--runs", str(args.runs), "--artifacts", str(args.artifacts)]
        gen_args += ["--seed", str(args.seed), "-o", str(out), "-q"]
        if args.actions is not None:
            gen_args += ["--actions", str(args.actions)]
        if args.collections is not None:
            gen_args += ["--collections", str(args.collections)]
        started = time.perf_counter()
        generate.main(gen_args)
        generated = time.perf_counter() - started
        files = sorted(out.rglob("*.yaml"))
        size = sum(p.stat().st_size for p in files)

        def load() -> LoadResult:  # as `reportgen validate` and `build` do: collector paused, every core
            with collector_paused():
                return load_paths([out], jobs=args.jobs or cpu_count(), check=check_where_parsed)

        def check() -> Validation:
            with collector_paused():
                return validate(loaded)

        load_s, loaded = best_of(args.repeat, load)
        assert isinstance(loaded, LoadResult)
        validate_s, validation = best_of(args.repeat, check)
        assert isinstance(validation, Validation)
        org = validation.organisation
        cli_s = None
        if not args.no_cli:

            def command() -> int:
                cmd = [sys.executable, "-m", "reportgen", "-q", "validate", str(out)]
                return subprocess.run(cmd, capture_output=True, check=False).returncode

            cli_s, _ = best_of(args.repeat, command)

    problems = len(validation.diagnostics)
    print(
        f"manifests: {len(files)} files, {size / 1e6:.1f} MB: {len(org.runs)} runs, "
        f"{len(org.artifacts)} artifact versions, {len(org.actions)} actions, "
        f"{len(org.collections)} collections (generated in {generated:.2f} s)"
    )
    print(f"diagnostics: {problems}" + ("" if validation.ok else " (errors: the set is not clean!)"))
    both = (load_s[0] + validate_s[0], load_s[1] + validate_s[1])
    rows = [("load", load_s), ("validate", validate_s), ("load + validate", both)]
    if cli_s is not None:
        rows.append(("reportgen validate (process)", cli_s))
    width = max(len(name) for name, _ in rows)
    print(f"\n{'stage':<{width}}  {'wall':>8}  {'cpu':>8}   (best of {args.repeat})")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 8}")
    for name, (wall, cpu) in rows:
        print(f"{name:<{width}}  {wall:6.3f} s  {cpu:6.3f} s")
    return 0 if validation.ok else 1


if __name__ == "__main__":
    sys.exit(main())
