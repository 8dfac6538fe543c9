"""Benchmark `reportgen build` on generated organisations: stages, cores, rebuilds, against layout alone.

    python benchmarks/bench_build.py --sizes S M L
    python benchmarks/bench_build.py --sizes L --jobs-one --check
    python benchmarks/bench_build.py --sizes L --output-on /dev/shm   # the same on a RAM file system

For each size it generates a manifest set (benchmarks/generate.py), then, each in a fresh process:

* a **cold build** on every core into a new folder, with its stage breakdown (what `reportgen build
  --profile` prints), peak memory of the build process, of its largest worker and of the whole process tree
  (summed proportional set sizes, sampled), site size and files;
* the **CPU** of the cold build's whole process tree (its workers and forks included), and how much of it
  was not layout (the layout its workers timed): the bar read as the issue puts it, "everything besides
  layout costs no more than layout itself", which moves far less with the machine's speed than seconds
  do (though a shared machine's slow spells slow layout more than the rest: it reads lower in them);
* **layout alone**, baseline (a): the build's own DOT sources (``layout.graph_source``: the same links,
  ids and names) laid out back to back in one process with nothing else: the limit Graphviz sets. The
  issue's bar is cold build <= 2 x (a) / cores. Then (a) **on all cores**: the same sources shared among
  as many forked processes as there are cores, each laying out its share back to back: the speed-up the
  machine's cores give the layout engine itself, the ceiling of a build's (on a virtual machine, two
  cores can be less than twice one: what runs beside a process slows it down);
* **file creation alone**: creating as many empty files as the site has, beside it: the floor the file
  system sets (on some virtual disks creating a file costs more than rendering it);
* a **rebuild with nothing changed**, and a **rebuild after one more action** (an alias added to the newest
  version of a collection), twice: in a new manifest file, then (from the set as it was) appended to the
  last file of actions, which is parsed again; with ``--check``, a cold build of each changed set to
  compare with byte for byte;
* with ``--jobs-one``, a cold build on one process, for the speed-up from all cores; with ``--pairs N``
  as well, last (of the set with the one more action), N more pairs of cold builds, one process then
  every core, each pair in turn: the speed-up is then the median of the pairs' ratios too (one pair is
  at the mercy of the machine's slow spells).

Figures are seconds of wall time on this machine, which is shared and noisy: compare them as ratios
within one run. If reportgen's code changes while a size is measured (an edit, another branch checked
out), the run says so under that size's row and exits with status 1: its figures mix two versions (and
its rebuilds render every page again). Baselines (b) and (c) are in benchmarks/bench_baselines.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# One build in a fresh process; prints its figures as JSON.
_BUILD = r"""
import json, os, resource, sys
from pathlib import Path
from reportgen.build import BuildOptions, build
from reportgen.render import get_renderer

source, output, jobs = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
cache = sys.argv[4] == "cache"
get_renderer("embedded").version()  # start the renderer outside the timings, as a long-lived CI image would


def cpu(who):  # seconds of CPU: RUSAGE_CHILDREN counts every process it waited for (its workers, forks)
    used = resource.getrusage(who)
    return used.ru_utime + used.ru_stime


# This process's own peak: Linux keeps ru_maxrss across exec, so it reads the benchmark's own if larger.
def peak_mib():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


before = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
result = build([source], BuildOptions(output=output, jobs=jobs, cache=cache))
own = cpu(resource.RUSAGE_SELF) - before[0]
used = own + cpu(resource.RUSAGE_CHILDREN) - before[1]
assert result.written, result.validation.diagnostics[:3]
files = [p for p in output.rglob("*") if p.is_file()]
print(json.dumps({
    "seconds": result.seconds, "stages": dict(result.stages), "work": dict(result.work),
    "pages": result.pages, "graphs": result.graphs, "files": len(files), "reused": result.reused_pages,
    "bytes": sum(p.stat().st_size for p in files), "jobs": result.jobs, "cpu": used, "cpu_own": own,
    "peak_mib": peak_mib(),
    "worker_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""

# Baseline (a): the DOT of every page's graph, exactly as the build makes it (links, ids, names),
# laid out back to back by the embedded renderer with nothing else; then the same shared among as many
# forked processes as the machine has cores (each its own share back to back, as a build's workers).
_LAYOUT_ALONE = r"""
import json, multiprocessing, os, sys, time
from pathlib import Path
from reportgen.build import graph_focuses
from reportgen.layout import graph_source
from reportgen.lineage import GraphOptions
from reportgen.load import load_paths
from reportgen.render import get_renderer
from reportgen.validate import validate

org = validate(load_paths([Path(sys.argv[1])])).organisation
sources = [graph_source(org, key, GraphOptions())[1:] for key in graph_focuses(org)]
renderer = get_renderer("embedded")
renderer.render_svg("digraph { a -> b }", graph="warm-up")


def lay_out(share):
    for name, dot in share:
        renderer.render_svg(dot, graph=name)


start = time.perf_counter()
lay_out(sources)
alone = time.perf_counter() - start
cores = os.cpu_count() or 1
fork = multiprocessing.get_context("fork")
processes = [fork.Process(target=lay_out, args=(sources[k::cores],)) for k in range(cores)]
start = time.perf_counter()
for p in processes:
    p.start()
for p in processes:
    p.join()
every = time.perf_counter() - start
assert all(p.exitcode == 0 for p in processes)
print(json.dumps({"seconds": alone, "every_core": every, "cores": cores, "graphs": len(sources)}))
"""

# One more action: an alias on the newest linked version of a collection, after every other action; in a
# new manifest file (named by the second argument), or appended to the last file of actions (``--append``),
# as a log of actions grows.
_ONE_MORE_ACTION = r"""
import sys
from pathlib import Path
from reportgen.load import load_paths
from reportgen.validate import validate

source = Path(sys.argv[1])
org = validate(load_paths([source])).organisation
history = next(h for h in org.collections.values() if h.current.linked)
newest = max(history.current.linked)
when = max(e.at for e in org.events()).strftime("%Y-%m-%dT%H:%M:%SZ")
action = (
    f"  - {{at: '{when}', user: bench, action: add_alias, collection: {history.full_name}, "
    f"version: v{newest}, alias: bench-one-more, reason: benchmark}}\n"
)
if sys.argv[2] == "--append":
    last = sorted(source.glob("actions-*.yaml"))[-1]  # generate.py's: an "actions:" list, items at 2
    with last.open("a", encoding="utf-8") as log:
        log.write("\n" + action)
else:
    (source / sys.argv[2]).write_text("actions:\n" + action)
"""
ONE_MORE_FILE = "zz-one-more-action.yaml"  # sorted after the generated files


# Run first in a process given a checkout: refuse to measure a reportgen that is not the checkout's.
_FROM_CHECKOUT = r"""
import os, pathlib, reportgen
_where = pathlib.Path(reportgen.__file__).resolve()
if not _where.is_relative_to(pathlib.Path.cwd().resolve()):
    raise SystemExit(f"reportgen came from {_where}, not from the checkout {os.getcwd()}")
"""


def _child(code: str, *args: object, checkout: Path | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh process; return the JSON it prints last, with the peak memory of its tree.

    ``tree_pss_mib`` is the largest sum, sampled every 0.2 s, of the proportional set sizes of the
    process and every process under it (forked workers count the pages they share with it once).
    With ``checkout``, the process runs in that folder with it first on the module path, so it runs the
    reportgen there (``python -c`` puts the working folder first, whatever PYTHONPATH says), and stops
    if it imported reportgen from anywhere else.
    """
    env = None
    if checkout is not None:
        code = _FROM_CHECKOUT + code
        path = [str(checkout), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=checkout,
        env=env,
    )
    peak = [0]
    sampler = threading.Thread(target=_sample_pss, args=(proc, peak), daemon=True)
    sampler.start()
    out, err = proc.communicate()
    sampler.join()
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, out, err)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    if peak[0]:
        result["tree_pss_mib"] = peak[0] / 1024
    return result


def _sample_pss(proc: subprocess.Popen[str], peak: list[int]) -> None:
    while proc.poll() is None:
        peak[0] = max(peak[0], sum(_pss_kib(pid) for pid in _tree(proc.pid)))
        time.sleep(0.2)


def _tree(pid: int) -> list[int]:
    """Return ``pid`` and every process under it (Linux; elsewhere just ``pid``)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return found


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


# The digest of the reportgen a build would import (``reportgen.source_digest``: its *.py files).
_SOURCE = "import json, reportgen\nprint(json.dumps({'source': reportgen.source_digest()}))\n"


def source_of(checkout: Path | None = None) -> str:
    """Return the source digest of the reportgen a build runs: the checkout's, or the one this
    environment imports. Taken before and after a size (or a pair's rounds): a run whose code changed
    meanwhile (an edit, a checkout of another branch) mixes two versions of it in its figures, and a
    rebuild after a change of code renders every page again."""
    return str(_child(_SOURCE, checkout=checkout)["source"])


def changed_warning(what: str) -> str:
    """Return what a benchmark prints when reportgen's source changed while ``what`` was measured."""
    return f"warning: reportgen's source changed while {what} was measured: its figures mix two versions"


def _build(
    source: Path, output: Path, jobs: int = 0, cache: bool = True, checkout: Path | None = None
) -> dict[str, Any]:
    settle()
    return _child(_BUILD, source, output, jobs, "cache" if cache else "none", checkout=checkout)


def settle() -> None:
    """Flush what earlier steps wrote and deleted before timing the next one.

    On a file system mounted with ``discard``, blocks freed by deleting a site are discarded when the
    journal commits: a build timed right after another site was deleted waits for that, and two
    processes writing at once wait more. Each timed step starts from a flushed file system.
    """
    os.sync()


def file_creation_seconds(folder: Path, count: int, sample: int = 2000) -> float:
    """Return how long creating ``count`` empty files in ``folder`` takes, from a timed sample."""
    scratch = Path(tempfile.mkdtemp(prefix=".bench-files-", dir=folder))
    settle()
    try:
        n = min(sample, count)
        start = time.perf_counter()
        for i in range(n):
            os.close(os.open(scratch / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        return (time.perf_counter() - start) / n * count
    finally:
        shutil.rmtree(scratch)


def same_tree(a: Path, b: Path) -> bool:
    """Return whether two folders hold the same files with the same bytes."""

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    return files(a) == files(b)


def _remove(site: Path) -> None:
    """Remove a site and its cache: on a RAM file system, memory the next build needs."""
    shutil.rmtree(site)
    cache = site.with_name(f".{site.name}.cache")
    if cache.exists():  # a build without the cache leaves none
        shutil.rmtree(cache)


def _same_as_cold(source: Path, site: Path, cold: Path) -> bool:
    """Return whether ``site`` is byte for byte a cold build of ``source`` (made at ``cold``, removed)."""
    _build(source, cold, cache=False)
    identical = same_tree(site, cold)
    shutil.rmtree(cold)
    return identical


def _cold(source: Path, site: Path, jobs: int = 0) -> dict[str, Any]:
    """Return the figures of a cold build of ``source`` into ``site``, removed afterwards (``_remove``)."""
    figures = _build(source, site, jobs=jobs)
    _remove(site)
    return figures


def run(size: str, workdir: Path, sites: Path, jobs_one: bool, check: bool, pairs: int = 0) -> dict[str, Any]:
    """Generate the organisation of ``size`` and measure it."""
    source = workdir / f"manifests-{size}"
    subprocess.run(
        [sys.executable, str(HERE / "generate.py"), "--size", size, "-o", str(source)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    site = sites / f"site-{size}"
    before = source_of()
    r: dict[str, Any] = {"size": size, "cold": _build(source, site)}
    alone = _child(_LAYOUT_ALONE, source)
    r["layout_alone"], r["layout_alone_every_core"] = alone["seconds"], alone["every_core"]
    r["file_creation"] = file_creation_seconds(sites, r["cold"]["files"])
    if jobs_one:
        r["cold_one_job"] = _cold(source, sites / f"site-{size}-1", jobs=1)  # as the cold build, on one
    r["rebuild_same"] = _build(source, site)
    _child(_ONE_MORE_ACTION, source, ONE_MORE_FILE)
    r["rebuild_one"] = _build(source, site)
    if check:
        r["identical"] = _same_as_cold(source, site, sites / f"site-{size}-cold")
    # The same action appended to the last file of actions instead: that file is parsed again.
    (source / ONE_MORE_FILE).unlink()
    _build(source, site)  # the set as it was
    _child(_ONE_MORE_ACTION, source, "--append")
    r["rebuild_appended"] = _build(source, site)
    if check:
        r["identical_appended"] = _same_as_cold(source, site, sites / f"site-{size}-cold")
    _remove(site)
    if jobs_one:  # last: the rebuilds follow the cold build, as they always have
        r["pairs"] = [
            (
                _cold(source, sites / f"site-{size}-1", 1)["seconds"],
                _cold(source, sites / f"site-{size}-n")["seconds"],
            )
            for _ in range(pairs)
        ]
    r["source_changed"] = source_of() != before
    return r


def _row(r: dict[str, Any]) -> str:
    cold = r["cold"]
    stages = cold["stages"]
    cores = cold["jobs"]
    bar = 2 * r["layout_alone"] / cores
    cells = [
        r["size"],
        f"{cold['pages']:,}",
        f"{cold['files']:,}",
        *(f"{stages.get(k, 0):.1f}" for k in ("load", "validate", "changes", "compact", "render", "commit")),
        " / ".join(
            f"{cold['work'].get(k, 0):.1f}" for k in ("lineage", "layout", "plan", "templates", "write")
        ),
        f"**{cold['seconds']:.1f}**",
        f"{r['layout_alone']:.1f}",
        _layout_speedup(r),
        f"{cold['seconds'] / (r['layout_alone'] / cores):.1f}x (bar {bar:.1f} s)",
        _besides_layout(cold),
        f"{r['file_creation']:.1f}",
        _speedup(r),
        f"{r['rebuild_same']['seconds']:.1f}",
        _rebuild(r, "rebuild_one"),
        _rebuild(r, "rebuild_appended"),
        " / ".join(_identical(r.get(k)) for k in ("identical", "identical_appended")),
        f"{cold['peak_mib']:,.0f} / {cold['worker_peak_mib']:,.0f} / {cold.get('tree_pss_mib', 0):,.0f}",
        f"{cold['bytes'] / 1e6:,.0f}",
    ]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _rebuild(r: dict[str, Any], key: str) -> str:
    """Return the seconds of a rebuild, and its share of the cold build's; "" if it was not measured."""
    if key not in r:
        return ""
    return f"{r[key]['seconds']:.1f} ({r[key]['seconds'] / r['cold']['seconds']:.0%})"


def _identical(same: bool | None) -> str:
    return {True: "yes", False: "**no**", None: ""}[same]


def _besides_layout(build: dict[str, Any]) -> str:
    """Return the CPU a build's process tree used, and how much of it was not layout: the bar in other
    words (everything besides layout costs no more than layout itself), and the same on any machine."""
    layout = build["work"].get("layout", 0.0)
    if "cpu" not in build or not layout:
        return ""
    besides = build["cpu"] - layout
    return f"{build['cpu']:.1f} / {besides:.1f} ({besides / layout:.2f}x)"


def _layout_speedup(r: dict[str, Any]) -> str:
    """Return how long (a) took shared among every core, and its speed-up: what the machine's cores give
    the layout engine alone, the ceiling of a build's speed-up (two virtual cores may not be two whole
    cores' worth of work)."""
    every = r.get("layout_alone_every_core")
    if not every:
        return ""
    return f"{every:.1f} ({r['layout_alone'] / every:.2f}x)"


def _speedup(r: dict[str, Any]) -> str:
    """Return the speed-up of the cold build from one process to every core, and that of the pairs."""
    if "cold_one_job" not in r:
        return ""
    text = f"{r['cold_one_job']['seconds'] / r['cold']['seconds']:.2f}x"
    if r.get("pairs"):
        ratios = [one / every for one, every in r["pairs"]]
        text += f"; pairs {statistics.median(ratios):.2f}x ({', '.join(f'{x:.2f}' for x in ratios)})"
    return text


HEADER = (
    "| size | pages | files | load | validate | changes | compact | render | commit | render, summed: "
    "lineage / layout / plan / templates / write | cold build | (a) layout alone "
    "| (a) on all cores (its speed-up) | cold / ((a) / cores) "
    "| CPU, all processes: all / besides layout (÷ layout) | file creation alone | speed-up, all cores "
    "| rebuild, same | rebuild, +1 action (new file) | rebuild, +1 action (appended) "
    "| identical to cold (new file / appended) "
    "| peak MiB: build / worker / all (PSS) | site MB |"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=["S", "M"], choices=["S", "M", "L", "XL"])
    parser.add_argument("--jobs-one", action="store_true", help="also time a cold build on one process")
    parser.add_argument(
        "--pairs", type=int, default=0, metavar="N", help="with --jobs-one: N more pairs of cold builds"
    )
    parser.add_argument("--check", action="store_true", help="compare the rebuilds with cold builds")
    parser.add_argument("--output-on", type=Path, help="write the sites under this folder (e.g. a tmpfs)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    print(
        f"machine: {platform.machine()} {platform.system()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.output_on:
            args.output_on.mkdir(parents=True, exist_ok=True)  # as `reportgen build -o` makes its folder
        sites = Path(tempfile.mkdtemp(dir=args.output_on)) if args.output_on else Path(tmp)
        try:
            for size in args.sizes:
                results.append(run(size, Path(tmp), sites, args.jobs_one, args.check, args.pairs))
                print(_row(results[-1]), flush=True)
                if results[-1]["source_changed"]:
                    print(changed_warning(size), flush=True)
        finally:
            if args.output_on:
                shutil.rmtree(sites, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 1 if any(r["source_changed"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
