"""Compare two checkouts of reportgen on one generated organisation: cold builds in turn, and rebuilds.

    git worktree add ../before <revision> --detach
    python benchmarks/bench_pairs.py ../before . --size L --rounds 3 --output-on /dev/shm
    python benchmarks/bench_pairs.py ../before . --size L --jobs 1     # on one process: steadier
    python benchmarks/bench_pairs.py . . --size L --jobs 1 --no-cache-b   # what the cache costs

A shared machine's speed drifts (by a quarter from one minute to the next on the one BENCHMARKS.md's
latest figures come from): more than most changes move a build, so one build with each checkout says
little. Each round builds the organisation cold with both, one after the other, A then B and then B
then A in the next round, so that neither always gets the first spell; then, with ``--rebuild``, adds
one action (as ``bench_build.py`` does) and rebuilds both sites in the same order. It reports each
build, then for each checkout the medians, and B against A: the median of the rounds' ratios (each
taken within one round, minutes apart) beside the ratio of the medians.

For each cold build: its wall time, the CPU of its whole process tree, the layout its workers timed,
and the CPU besides layout ÷ layout: issue 7's cold bar ("everything besides layout costs no more than
layout itself"), which moves far less than seconds from a slow spell to a fast one (though slow spells
slow layout more than the rest: it reads lower in them). The render stage's parts are set against
layout too. On one process (``--jobs 1``) the two virtual cores of a shared machine cannot slow each
other's work down, and the figures spread less. With ``--no-cache-b`` B's builds keep no cache: given
the same checkout twice, B against A is what a cold build pays to prepare the next one.

Each build runs in a fresh process, in its checkout's folder with that folder first on the module
path, and checks that it imported reportgen from there: a benchmark run from one checkout with
``PYTHONPATH`` at another measures the first (``python -c`` puts the working folder first). A checkout
whose code changed during the run (an edit, another branch checked out) is named, and the run exits
with status 1: its figures mix two versions of the code.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_build import (  # noqa: E402
    _ONE_MORE_ACTION,
    ONE_MORE_FILE,
    _build,
    _child,
    _remove,
    changed_warning,
    source_of,
)

PARTS = ("lineage", "plan", "templates", "write")  # of the render stage, each ÷ layout


def checkout(path: str) -> Path:
    """Return ``path`` resolved if it holds a reportgen checkout (its package and templates)."""
    folder = Path(path).resolve()
    if not (folder / "reportgen" / "build.py").is_file() or not (folder / "templates").is_dir():
        raise argparse.ArgumentTypeError(f"{path} is not a reportgen checkout")
    return folder


def figures(build: dict[str, Any]) -> dict[str, float]:
    """Return what a cold build's figures are compared by: seconds, CPU, layout, and the rest ÷ layout."""
    layout = build["work"]["layout"]
    out = {"seconds": build["seconds"], "cpu": build["cpu"], "layout": layout}
    out["besides"] = (build["cpu"] - layout) / layout
    out.update({part: build["work"].get(part, 0.0) / layout for part in PARTS})
    return out


def run(
    a: Path,
    b: Path,
    size: str,
    rounds: int,
    rebuild: bool,
    work: Path,
    sites: Path,
    jobs: int = 0,
    b_cache: bool = True,
) -> list[dict[str, Any]]:
    """Build ``size`` with both checkouts, ``rounds`` times in turn; return one record per build.

    ``jobs``: the builds' processes (0: every core). ``b_cache``: whether B's builds keep the cache
    (with A the same checkout, what preparing the cache for the next build costs a cold one).
    """
    source = work / f"manifests-{size}"
    subprocess.run(
        [sys.executable, str(HERE / "generate.py"), "--size", size, "-o", str(source), "--quiet"], check=True
    )
    extra = source / ONE_MORE_FILE
    records: list[dict[str, Any]] = []
    for n in range(rounds):
        order = [("A", a), ("B", b)] if n % 2 == 0 else [("B", b), ("A", a)]
        done: dict[str, dict[str, Any]] = {}
        for name, where in order:
            site = sites / f"site-{name}"
            cache = b_cache or name == "A"
            record = {
                "round": n + 1,
                "checkout": name,
                "cold": _build(source, site, jobs=jobs, cache=cache, checkout=where),
            }
            records.append(record)
            done[name] = record
            print(_line(record), flush=True)
        if rebuild:
            _child(_ONE_MORE_ACTION, source, ONE_MORE_FILE)
            for name, where in order:
                done[name]["rebuild"] = _build(source, sites / f"site-{name}", jobs=jobs, checkout=where)
                print(
                    f"  round {n + 1} {name}: rebuild after one more action "
                    f"{done[name]['rebuild']['seconds']:.2f} s",
                    flush=True,
                )
            extra.unlink()
        for name, _ in order:
            _remove(sites / f"site-{name}")  # and its cache, if any: the next round's builds are cold
    return records


def _line(record: dict[str, Any]) -> str:
    f = figures(record["cold"])
    parts = " / ".join(f"{f[p]:.2f}" for p in PARTS)
    return (
        f"  round {record['round']} {record['checkout']}: cold {f['seconds']:.2f} s, CPU {f['cpu']:.1f} s, "
        f"layout {f['layout']:.1f} s, besides layout {f['besides']:.3f}x; "
        f"{' / '.join(PARTS)} ÷ layout {parts}"
    )


def summary(records: list[dict[str, Any]]) -> str:
    """Return a Markdown table: each checkout's medians, then B against A."""
    keys = ["seconds", "cpu", "besides", *PARTS]
    if all("rebuild" in r for r in records):
        keys.append("rebuild")

    def value(r: dict[str, Any], key: str) -> float:
        return r["rebuild"]["seconds"] if key == "rebuild" else figures(r["cold"])[key]

    by = {name: [r for r in records if r["checkout"] == name] for name in ("A", "B")}
    medians = {name: {k: statistics.median(value(r, k) for r in rs) for k in keys} for name, rs in by.items()}
    rounds = sorted({r["round"] for r in records})
    pairs = {
        k: [
            value(next(r for r in by["B"] if r["round"] == n), k)
            / value(next(r for r in by["A"] if r["round"] == n), k)
            for n in rounds
        ]
        for k in keys
    }
    head = ["", "cold s", "CPU s", "besides ÷ layout", *(f"{p} ÷ layout" for p in PARTS)]
    if "rebuild" in keys:
        head.append("rebuild +1 action s")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in ("A", "B"):
        lines.append(
            f"| {name}, median of {len(by[name])} | "
            + " | ".join(_cell(k, medians[name][k]) for k in keys)
            + " |"
        )
    lines.append(
        "| B ÷ A, median of the rounds' ratios (each round's) | "
        + " | ".join(
            f"{statistics.median(pairs[k]):.3f} ({', '.join(f'{x:.2f}' for x in pairs[k])})" for k in keys
        )
        + " |"
    )
    lines.append(
        "| B ÷ A, of the medians | "
        + " | ".join(f"{medians['B'][k] / medians['A'][k]:.3f}" for k in keys)
        + " |"
    )
    return "\n".join(lines)


def _cell(key: str, value: float) -> str:
    return f"{value:.2f}" if key in ("seconds", "cpu", "rebuild") else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("a", type=checkout, help="checkout A (say, before a change)")
    parser.add_argument("b", type=checkout, help="checkout B (say, after it)")
    parser.add_argument("--size", default="M", choices=["S", "M", "L", "XL"])
    parser.add_argument(
        "--rounds", type=int, default=3, metavar="N", help="rounds of one build each (default 3)"
    )
    parser.add_argument("--rebuild", action="store_true", help="also rebuild both after one more action")
    parser.add_argument(
        "--jobs", type=int, default=0, metavar="N", help="processes for each build (default: every core)"
    )
    parser.add_argument(
        "--no-cache-b",
        action="store_true",
        help="B's builds keep no cache (give the same checkout twice: what preparing it costs)",
    )
    parser.add_argument("--output-on", type=Path, help="write the sites under this folder (e.g. a tmpfs)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.jobs < 0:
        parser.error("--jobs must be 0 (every core) or more")
    if args.no_cache_b and args.rebuild:
        parser.error("--rebuild needs B's cache: leave out --no-cache-b")
    print(f"machine: {platform.machine()} {platform.system()}, Python {platform.python_version()}")
    print(f"A: {args.a}\nB: {args.b}{' (without the cache)' if args.no_cache_b else ''}")
    print(f"size {args.size}, {args.rounds} rounds, {args.jobs or 'every core'} process(es) a build")
    with tempfile.TemporaryDirectory() as tmp:
        if args.output_on:
            args.output_on.mkdir(parents=True, exist_ok=True)  # as `reportgen build -o` makes its folder
        sites = Path(tempfile.mkdtemp(dir=args.output_on)) if args.output_on else Path(tmp) / "sites"
        sites.mkdir(exist_ok=True)
        checkouts = {"A": args.a, "B": args.b}
        sources = {name: source_of(where) for name, where in checkouts.items()}
        try:
            records = run(
                args.a,
                args.b,
                args.size,
                args.rounds,
                args.rebuild,
                Path(tmp),
                sites,
                args.jobs,
                not args.no_cache_b,
            )
        finally:
            shutil.rmtree(sites, ignore_errors=True)
    print(summary(records))
    if args.json:
        args.json.write_text(json.dumps(records, indent=1) + "\n")
    changed = [name for name, where in checkouts.items() if source_of(where) != sources[name]]
    for name in changed:
        print(changed_warning(f"checkout {name}"))
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
