"""Benchmark `reportgen build` on generated organisations: time per stage against layout alone.

    python benchmarks/bench_build.py --sizes S M

For each size it generates a manifest set (benchmarks/generate.py), then in a fresh process times a
cold build stage by stage (load, validate, graphs = lineage + DOT + layout, plan, templates, write),
the layout of the same DOT sources back to back with nothing else (the limit), and peak memory.
Figures are seconds of wall time on this machine; compare them as ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from reportgen import build as B
from reportgen.emit import svg_file_text
from reportgen.graphs import build_dot
from reportgen.layout import draw_graphs
from reportgen.paths import node_page
from reportgen.lineage import neighbourhood
from reportgen.load import load_paths
from reportgen.render import get_renderer
from reportgen.site import Planner
from reportgen.templating import assets, environment, render_page
from reportgen.validate import validate
from reportgen.write import SiteWriter

source, output = Path(sys.argv[1]), Path(sys.argv[2])
options = B.BuildOptions(output=output)
get_renderer(options.renderer).version()  # start the renderer outside the timings
t = {}
start = time.perf_counter()
loaded = load_paths([source]); t["load"] = time.perf_counter() - start
mark = time.perf_counter(); result = validate(loaded); t["validate"] = time.perf_counter() - mark
org = result.organisation
mark = time.perf_counter()
graphs, _ = draw_graphs(org, B.graph_focuses(org), B.layout_options(options))
t["graphs"] = time.perf_counter() - mark
site = B._site_info(org, options)
mark = time.perf_counter()
pages = list(Planner(org, site, graphs).pages())
t["plan"] = time.perf_counter() - mark
env = environment(None)
mark = time.perf_counter(); html = [(p.path, render_page(env, p)) for p in pages]
t["templates"] = time.perf_counter() - mark
paths = [p.path for p in pages]
del pages
mark = time.perf_counter()
with SiteWriter(output) as writer:
    for path, text in html:
        writer.write_text(path, text)
    for key, drawn in graphs.items():
        writer.write_text(drawn.svg_file, svg_file_text(drawn.svg, node_page(key)))
    for path, data in B.extra_files(org, site).items():
        writer.write(path, data)
    for path, data in assets(None):
        writer.write(path, data)
    writer.commit()
    files = writer.count
t["write"] = time.perf_counter() - mark
t["total"] = time.perf_counter() - start
renderer = get_renderer(options.renderer)
dots = [build_dot(org, neighbourhood(org, key, options.graph), name="g") for key in graphs]
mark = time.perf_counter()
for dot in dots:
    renderer.render_svg(dot, graph="g")
t["layout_alone"] = time.perf_counter() - mark
# Rebuilds with the graph cache warm: nothing changed, then one more action (an alias on a linked version).
mark = time.perf_counter(); B.build([source], options); t["rebuild_same"] = time.perf_counter() - mark
history = next(h for h in org.collections.values() if h.current.linked)
newest = max(history.current.linked)
when = max(e.at for e in org.events()).strftime("%Y-%m-%dT%H:%M:%SZ")
(source / "zz-one-more-action.yaml").write_text(
    f"actions:\n  - {{at: '{when}', user: bench, action: add_alias, collection: {history.full_name}, "
    f"version: v{newest}, alias: bench-one-more, reason: benchmark}}\n"
)
mark = time.perf_counter(); again = B.build([source], options); t["rebuild_one"] = time.perf_counter() - mark
assert again.written and again.cached_graphs > 0, again
size = sum(f.stat().st_size for f in output.rglob("*") if f.is_file())
print(json.dumps({
    "times": t, "pages": len(paths), "graphs": len(graphs), "files": files, "bytes": size,
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "runs": len(org.runs), "artifacts": len(org.artifacts), "actions": len(org.actions),
    "collections": len(org.collections),
}))
"""


def run(size: str, workdir: Path) -> dict[str, object]:
    """Generate the organisation of ``size`` and build it in a fresh process."""
    source = workdir / f"manifests-{size}"
    subprocess.run(
        [sys.executable, str(HERE / "generate.py"), "--size", size, "-o", str(source)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(source), str(workdir / f"site-{size}")],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=["S", "M"], choices=["S", "M", "L", "XL"])
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.system()}, Python {platform.python_version()}")
    header = (
        "| size | runs | artifacts | actions | pages | graphs | load | validate | graphs | plan | templates "
        "| write | total | layout alone | total / layout | rebuild same | rebuild +1 action "
        "| peak MiB | site MB |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            r = run(size, Path(tmp))
            t = r["times"]
            assert isinstance(t, dict)
            print(
                f"| {size} | {r['runs']} | {r['artifacts']} | {r['actions']} | {r['pages']} | {r['graphs']} "
                + " ".join(
                    f"| {t[k]:.2f}"
                    for k in ("load", "validate", "graphs", "plan", "templates", "write", "total")
                )
                + f" | {t['layout_alone']:.2f} | {t['total'] / t['layout_alone']:.1f}x"
                + f" | {t['rebuild_same']:.2f} | {t['rebuild_one']:.2f}"
                + f" | {r['peak_mib']:.0f} | {int(str(r['bytes'])) / 1e6:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
