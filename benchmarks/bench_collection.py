"""Benchmark one long-lived collection: does a build grow linearly with a collection's versions?

    python benchmarks/bench_collection.py                      # 250, 500, 1000 and 2000 versions
    python benchmarks/bench_collection.py --versions 1000 4000 --output-on /dev/shm
    python benchmarks/bench_collection.py --days-per-dataset 0   # one dataset version for every night

A nightly-trained model is the usual shape: a version a day for years, each made by a training run from
the dataset version of its month, with `production` promoted weekly and `staging` monthly. The collection
has a page, and each version a page of its own (``collections/<registry>/<name>/vK.html``); the model's
artifact versions and runs have theirs, each with its lineage graph.

For each number of versions it builds that organisation cold, in a fresh process, and reports the build's
seconds, the bytes of the collection's pages, and how both grew from the size before: doubling the
versions should double them, not quadruple them (each version page once listed every version). Then it
adds the next night (its run, model version and link, in a new file) and rebuilds: what a nightly CI job
does, which should render the pages of that night's lineage and of the collection's last versions, not
all of the collection's. With ``--days-per-dataset 0``, every night reads one dataset version, which
makes the whole model one lineage: the next night should still render only the pages whose graphs
draw it (its own, the dataset's and the night before's, which loses `latest`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_build import _build, _remove  # noqa: E402  # the fresh process, its memory, the cleanup

DAYS_PER_DATASET = 30


def nightly_manifest(versions: int, first: int = 0, days: int = DAYS_PER_DATASET) -> dict[str, Any]:
    """Return the manifest of a model collection with ``versions`` nightly versions (see the module).

    With ``first``, only the nights from that one on: what a set of ``first`` versions needs to have
    ``versions`` (a rebuild's change). ``days``: the nights a dataset version is read by, 0 for one
    dataset version read by every night (which joins every night's lineage into one).
    """
    start = datetime(2024, 1, 1, 2, 0, tzinfo=UTC)

    def at(day: int, minutes: int = 0) -> str:
        return (start + timedelta(days=day, minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")

    artifacts: list[dict[str, Any]] = []
    runs, actions = [], []
    for n in range(first, versions):
        month = n // days if days else 0
        if (n % days if days else n) == 0:  # a dataset version a month (or one)
            artifacts.append(
                {"name": "train-data", "version": f"v{month}", "type": "dataset", "created_at": at(n)}
            )
        run_id = f"nightly-{n:05d}"
        runs.append(
            {
                "id": run_id,
                "name": f"nightly-train-{n}",
                "job_type": "train",
                "state": "finished",
                "user": "ci-bot",
                "created_at": at(n, 1),
                "finished_at": at(n, 50),
                "config": {"lr": 0.001, "epochs": 10, "seed": n},
                "summary": {"val_accuracy": round(0.8 + (n % 97) / 1000, 3)},
                "inputs": [f"train-data:v{month}"],
                "outputs": [f"nightly-model:v{n}"],
            }
        )
        artifacts.append(
            {
                "name": "nightly-model",
                "version": f"v{n}",
                "type": "model",
                "digest": f"sha256:{n:064x}",
                "size": 1_000_000 + n,
                "created_at": at(n, 50),
                "logged_by": run_id,
            }
        )
        actions.append(
            {
                "at": at(n, 55),
                "user": "ci-bot",
                "action": "link",
                "collection": "model/nightly",
                "artifact": f"nightly-model:v{n}",
            }
        )
        for every, alias, user in ((7, "production", "ana"), (30, "staging", "ben")):
            if n % every == every - 1:
                actions.append(
                    {
                        "at": at(n, 60 * 8),
                        "user": user,
                        "action": "add_alias",
                        "collection": "model/nightly",
                        "version": f"v{n}",
                        "alias": alias,
                        "reason": "scheduled promotion",
                    }
                )
    manifest: dict[str, Any] = {"artifacts": artifacts, "runs": runs, "actions": actions}
    if first == 0:
        manifest["registries"] = [{"name": "model", "protected_aliases": ["production"]}]
        manifest["collections"] = [{"registry": "model", "name": "nightly", "type": "model"}]
    return manifest


def run(versions: int, workdir: Path, sites: Path, days: int = DAYS_PER_DATASET) -> dict[str, Any]:
    """Build the organisation of a collection of ``versions`` versions cold; return its figures."""
    source = workdir / f"nightly-{versions}"
    source.mkdir()
    manifest = nightly_manifest(versions, days=days)
    (source / "nightly.yaml").write_text(json.dumps(manifest, indent=0), encoding="utf-8")
    site = sites / f"site-{versions}"
    figures = _build(source, site)
    folder = site / "collections" / "model"
    pages = [folder / "nightly.html", *sorted((folder / "nightly").glob("v*.html"))]
    figures["versions"] = versions
    figures["collection_bytes"] = sum(p.stat().st_size for p in pages)
    figures["collection_pages"] = len(pages)
    # the next night: its run, model version, link and promotions (and its month's dataset, if new)
    night = nightly_manifest(versions + 1, first=versions, days=days)
    (source / "zz-next-night.yaml").write_text(json.dumps(night, indent=0), encoding="utf-8")
    figures["rebuild_one"] = _build(source, site)
    _remove(site)
    shutil.rmtree(source)
    return figures


HEADER = (
    "| versions | pages | cold build s | ms a version | site MB | the collection's pages: MB "
    "| growth from the size before: time / collection's bytes "
    "| rebuild after one more night: s (pages rendered) | peak MiB: build / all (PSS) |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def _row(r: dict[str, Any], before: dict[str, Any] | None) -> str:
    growth = ""
    if before is not None:
        growth = (
            f"{r['seconds'] / before['seconds']:.2f}x / "
            f"{r['collection_bytes'] / before['collection_bytes']:.2f}x "
            f"(versions {r['versions'] / before['versions']:.2f}x)"
        )
    return (
        f"| {r['versions']:,} | {r['pages']:,} | {r['seconds']:.2f} "
        f"| {r['seconds'] / r['versions'] * 1000:.2f} "
        f"| {r['bytes'] / 1e6:.1f} | {r['collection_bytes'] / 1e6:.1f} | {growth} | {_rebuild(r)} "
        f"| {r['peak_mib']:.0f} / {r.get('tree_pss_mib', 0):.0f} |"
    )


def _rebuild(r: dict[str, Any]) -> str:
    again = r.get("rebuild_one")
    if again is None:
        return ""
    return f"{again['seconds']:.2f} ({again['pages'] - again['reused']:,})"


def table(results: list[dict[str, Any]]) -> str:
    """Return the results as a Markdown table, each size set against the one before."""
    rows = [_row(r, results[n - 1] if n else None) for n, r in enumerate(results)]
    return "\n".join([HEADER, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, nargs="+", default=[250, 500, 1000, 2000], metavar="N")
    parser.add_argument(
        "--output-on", type=Path, help="folder to build the sites in (default: a temporary one)"
    )
    parser.add_argument(
        "--days-per-dataset",
        type=int,
        default=DAYS_PER_DATASET,
        metavar="N",
        help=f"nights that read each dataset version (default {DAYS_PER_DATASET}; 0: one for every night)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-collection-") as tmp:
        work = Path(tmp)
        if args.output_on:
            args.output_on.mkdir(parents=True, exist_ok=True)  # as `reportgen build -o` makes its folder
        sites = Path(tempfile.mkdtemp(prefix="sites-", dir=args.output_on or work))
        try:
            for versions in sorted(args.versions):
                results.append(run(versions, work, sites, args.days_per_dataset))
                print(f"{versions} versions: {results[-1]['seconds']:.2f} s", file=sys.stderr)
        finally:
            shutil.rmtree(sites, ignore_errors=True)
    machine = f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
