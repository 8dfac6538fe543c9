"""Build organisations for tests: from YAML text, from Python dicts, or from generators.

Everything goes through the real pipeline (``load_bytes`` then ``build_organisation``), so a test sees the
model the command line would build. Generators return plain dicts (manifest documents) that can also be
written to disk with :func:`write_manifest` for the command-line tests.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import reportgen.emit as emit_module
from reportgen.diagnostics import Diagnostic, Reporter, Severity
from reportgen.load import load_bytes
from reportgen.model import Organisation
from reportgen.validate import build_organisation

REPO = Path(__file__).resolve().parent.parent
ZOO = REPO / "sample_manifests" / "zoo"

Manifest = dict[str, list[dict[str, Any]]]


class ManifestErrors(AssertionError):
    """The manifests of a test do not validate; the message lists every diagnostic."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def load_org(
    text: str | bytes, *, name: str = "test.yaml", allow_errors: bool = False
) -> tuple[Organisation, list[Diagnostic]]:
    """Return the organisation and diagnostics of one manifest file's text."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    reporter = Reporter()
    documents = load_bytes(data, name, reporter)
    org = build_organisation(documents, reporter)
    errors = [d for d in reporter.diagnostics if d.severity is Severity.ERROR]
    if errors and not allow_errors:
        raise ManifestErrors(errors)
    return org, reporter.diagnostics


def org_from_yaml(text: str | bytes, *, name: str = "test.yaml") -> Organisation:
    """Return the organisation described by YAML ``text``; fail the test on any error."""
    return load_org(text, name=name)[0]


def dump(manifest: Mapping[str, Any]) -> str:
    """Return ``manifest`` as YAML text (unicode kept, key order kept)."""
    return yaml.safe_dump(dict(manifest), sort_keys=False, allow_unicode=True, width=1 << 20)


def org_from_dict(manifest: Mapping[str, Any]) -> Organisation:
    """Return the organisation described by a manifest given as a Python dict."""
    return org_from_yaml(dump(manifest))


def write_manifest(directory: Path, manifest: Mapping[str, Any], name: str = "manifest.yaml") -> Path:
    """Write ``manifest`` as a YAML file under ``directory``; return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(dump(manifest), encoding="utf-8")
    return directory


# ------------------------------------------------------------------------------------------ builders


def artifact(name: str, version: int, type_: str = "dataset", **fields: Any) -> dict[str, Any]:
    """Return one artifact version entry."""
    return {"name": name, "version": f"v{version}", "type": type_, **fields}


def run(
    run_id: str,
    *,
    inputs: Iterable[str] = (),
    outputs: Iterable[str] = (),
    job_type: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Return one run entry; ``job_type=None`` leaves the job type out."""
    entry: dict[str, Any] = {"id": run_id, **fields}
    if job_type is not None:
        entry["job_type"] = job_type
    if inputs:
        entry["inputs"] = list(inputs)
    if outputs:
        entry["outputs"] = list(outputs)
    return entry


def fan_out(
    n: int = 200,
    *,
    job_type: str | None = "train",
    outputs: bool = True,
    model: str = "sweep-model",
) -> Manifest:
    """Return a sweep: ``raw`` -> ``prep`` -> ``data:v0`` -> ``n`` runs (each logs ``model:vI``) -> ``eval``.

    The sweep runs are ``sweep-000`` ... and each uses ``data:v0``; with ``outputs`` each logs its own
    version of ``model``, and ``eval-0`` uses ``model:v0``.
    """
    artifacts = [artifact("raw", 0), artifact("data", 0)]
    runs = [run("prep", inputs=["raw:v0"], outputs=["data:v0"], job_type="preprocess")]
    for i in range(n):
        outs = [f"{model}:v{i}"] if outputs else []
        if outputs:
            artifacts.append(artifact(model, i, "model"))
        runs.append(run(f"sweep-{i:03d}", inputs=["data:v0"], outputs=outs, job_type=job_type))
    if outputs:
        runs.append(run("eval-0", inputs=[f"{model}:v0"], job_type="eval"))
    return {"artifacts": artifacts, "runs": runs}


def connected_manifest(nodes: int = 5000, *, width: int = 40, seed_inputs: int = 2) -> Manifest:
    """Return a connected lineage of about ``nodes`` nodes (runs plus artifact versions).

    A chain of stages: each stage has ``width`` runs of one job type; every run reads ``seed_inputs``
    versions from the previous stage (deterministic, overlapping choices, so the stages are knit together)
    and logs one version of the stage's artifact. Half the nodes are runs, half artifact versions.
    The default width gives about 60 stages (120 hops); ``width=6`` a deep pipeline of about 400 stages.
    """
    job_types = ("preprocess", "train", "eval", "export", "distill")
    artifacts = [artifact("seed", 0)]
    runs: list[dict[str, Any]] = []
    previous = ["seed:v0"]
    stage = 0
    while len(artifacts) + len(runs) < nodes:
        name = f"stage{stage}"
        current = []
        for i in range(width):
            if len(artifacts) + len(runs) + 2 > nodes:
                break
            k = len(previous)
            inputs = sorted({previous[(i + j) % k] for j in range(seed_inputs)})
            ref = f"{name}:v{i}"
            artifacts.append(artifact(name, i, "model" if stage % 2 else "dataset"))
            runs.append(run(f"r{stage:04d}-{i}", inputs=inputs, outputs=[ref], job_type=job_types[stage % 5]))
            current.append(ref)
        if not current:
            break
        previous = current
        stage += 1
    return {"artifacts": artifacts, "runs": runs}


# ------------------------------------------------------------------------------------- drawn graphs

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
NS = {"svg": SVG_NS, "xlink": XLINK_NS}


@dataclass(frozen=True)
class DrawnNode:
    """A node group of a Graphviz SVG: what a reader sees and clicks."""

    id: str
    classes: tuple[str, ...]
    texts: tuple[str, ...]
    href: str | None
    tooltip: str | None
    target: str | None
    shapes: tuple[str, ...]  # local tag names of the outline: path, polygon, ellipse
    fill: str | None
    stroke: str | None
    x: float  # centre of the first label line


@dataclass(frozen=True)
class DrawnEdge:
    """An edge group of a Graphviz SVG."""

    id: str
    title: str


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def parse_svg(svg: str) -> tuple[dict[str, DrawnNode], list[DrawnEdge], ET.Element]:
    """Return the node groups (by id), the edge groups and the root of a Graphviz SVG."""
    root = ET.fromstring(svg)
    nodes: dict[str, DrawnNode] = {}
    edges: list[DrawnEdge] = []
    for group in root.iter(f"{{{SVG_NS}}}g"):
        classes = tuple((group.get("class") or "").split())
        if "node" in classes:
            link = group.find(".//svg:a", NS)
            outline = [e for e in group.iter() if _local(e.tag) in ("path", "polygon", "ellipse", "polyline")]
            texts = [e for e in group.iter(f"{{{SVG_NS}}}text")]
            nodes[group.get("id", "")] = DrawnNode(
                id=group.get("id", ""),
                classes=classes,
                texts=tuple(t.text or "" for t in texts),
                href=None if link is None else link.get(f"{{{XLINK_NS}}}href"),
                tooltip=None if link is None else link.get(f"{{{XLINK_NS}}}title"),
                target=None if link is None else link.get("target"),
                shapes=tuple(_local(e.tag) for e in outline),
                fill=outline[0].get("fill") if outline else None,
                stroke=outline[0].get("stroke") if outline else None,
                x=float(texts[0].get("x", "nan")) if texts else float("nan"),
            )
        elif "edge" in classes:
            title = group.find("svg:title", NS)
            edges.append(DrawnEdge(group.get("id", ""), "" if title is None else title.text or ""))
    return nodes, edges, root


def node_by_text(nodes: Mapping[str, DrawnNode], first_line: str) -> DrawnNode:
    """Return the one drawn node whose first label line is ``first_line``."""
    found = [n for n in nodes.values() if n.texts and n.texts[0] == first_line]
    assert len(found) == 1, f"{len(found)} nodes labelled {first_line!r}: {sorted(nodes)}"
    return found[0]


# ------------------------------------------------------------------------------------------ renderers

HAVE_DOT = shutil.which("dot") is not None
RENDERERS = [
    pytest.param("embedded", id="embedded"),
    pytest.param(
        "system",
        id="system",
        marks=pytest.mark.skipif(
            not HAVE_DOT, reason="Graphviz `dot` is not on PATH (apt-get install graphviz)"
        ),
    ),
]


@pytest.fixture(scope="module", autouse=False)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the compiled-WebAssembly cache of the tests out of the user's cache directory."""
    directory = tmp_path_factory.getbasetemp() / "reportgen-cache"
    directory.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REPORTGEN_CACHE_DIR", str(directory))
        yield directory


def another_reportgen(folder: Path, monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make reportgen's own source look changed (a copy with one line added to ``module``).

    A development checkout changes code without changing the version: the caches beside a site must
    never keep what other code made.
    """
    import reportgen

    folder.mkdir()
    for source in Path(reportgen.__file__).parent.glob("*.py"):
        (folder / source.name).write_bytes(source.read_bytes())
    (folder / module).write_bytes((folder / module).read_bytes() + b"\n# changed\n")
    monkeypatch.setattr(reportgen, "__file__", str(folder / "__init__.py"))


def pieces_made_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Spy on the units' pieces of the assembled files (``emit.unit_pieces``): return the list of the
    kinds of unit whose pieces this process makes (a forked worker's calls land in its own copy)."""
    made: list[str] = []
    real = emit_module.unit_pieces

    def counted(planner: Any, unit: Any) -> dict[str, bytes]:
        made.append(unit.kind)
        return real(planner, unit)

    monkeypatch.setattr(emit_module, "unit_pieces", counted)
    return made


BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def benchmark_module(name: str) -> Iterator[Any]:
    """Yield the benchmark script ``benchmarks/<name>.py`` loaded as a module, and forget it afterwards
    (a pytest fixture's body: ``yield from benchmark_module("bench_build")``)."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def appears(path: Path, seconds: float = 10.0) -> bool:
    """Return whether ``path`` exists within ``seconds`` (a forked worker waiting for its parent's go)."""
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    return path.exists()
