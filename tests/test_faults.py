"""Faults: builds killed, interrupted, run twice at once, out of room, on read-only disks, with Graphviz
crashing or hanging. The previous site must survive each byte for byte, and the next build must work.

Every build here runs the real command line in a subprocess. The kill test stops a build of a generated
set at 20 points, by time before the site is staged and by progress (files staged) after.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_hostile import assert_clean, check_site, check_sums, cli_env, reportgen_command

from reportgen import launch

REPO = Path(__file__).resolve().parent.parent
ZOO = REPO / "sample_manifests" / "zoo"
GENERATOR = REPO / "benchmarks" / "generate.py"
SUMS = "SHA256SUMS"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Return every file under ``folder`` (hidden ones too) by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def beside(target: Path, *kinds: str) -> list[Path]:
    """Return the staging (build-) or set-aside (old-) folders of builds beside ``target``."""
    kinds = kinds or ("build", "old")
    return sorted(p for kind in kinds for p in target.parent.glob(f".{target.name}.{kind}-*"))


def start(*args: str | Path, path_prefix: str | None = None) -> subprocess.Popen[str]:
    env = cli_env()
    if path_prefix:
        env["PATH"] = path_prefix + os.pathsep + env.get("PATH", "")
    return subprocess.Popen(
        [*reportgen_command(), *map(str, args)],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C would reach
        # As in a terminal, Ctrl-C is not ignored, even when the tests were started in the background
        # (a shell starts background jobs with SIGINT ignored, and children inherit that).
        preexec_fn=_default_sigint,
    )


def _while_python_starts(err: str) -> bool:
    """Return whether a traceback ends in a KeyboardInterrupt raised before ``launch.main`` ran: no frame
    of reportgen's package (wherever it is installed) but the module bodies of its ``__init__`` and
    ``launch``."""
    frames = re.findall(r'File "([^"]+)", line \d+, in (\S+)', err)
    ours = [(Path(f), where) for f, where in frames if Path(f).parent.name == "reportgen"]
    return (
        err.rstrip().removesuffix(":").endswith("KeyboardInterrupt")
        and bool(frames)
        and all(f.name in ("__init__.py", "launch.py") and where == "<module>" for f, where in ours)
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run(
    *args: str | Path, path_prefix: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    proc = start(*args, path_prefix=path_prefix)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def cold(out: Path) -> None:
    """Remove the graph cache kept beside ``out`` (a folder or a file), so that timings repeat."""
    cache = out.with_name(f".{out.name}.cache")
    if cache.is_dir():
        shutil.rmtree(cache, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):  # absent, or on a read-only disk
            cache.unlink()


def build(
    manifests: Path, out: Path, *extra: str, path_prefix: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Build with the command line into ``out``, with a cold graph cache."""
    cold(out)
    return run("-q", "build", manifests, "-o", out, *extra, path_prefix=path_prefix)


def staged_files(target: Path) -> int:
    """Return how many files the running build has staged beside ``target`` (0 before it stages)."""
    count = 0
    for staging in beside(target, "build"):
        with contextlib.suppress(OSError):  # the folder moved or vanished while we looked
            count += sum(1 for p in staging.rglob("*") if not p.is_dir())
    return count


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], limit: float = 120) -> bool:
    """Wait until ``condition`` holds or the process ends; return whether the condition held."""
    deadline = time.monotonic() + limit
    while proc.poll() is None and time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return False


def site_now(target: Path) -> dict[str, bytes]:
    """Return the site as a reader would find it: in place, or set aside if a kill hit the swap itself.

    The swap is two renames (site -> .old, staging -> site); a kill between them leaves the old site
    beside the target, and the next build moves it back before anything else.
    """
    if target.exists():
        return snapshot(target)
    (old,) = beside(target, "old")
    return snapshot(old)


def generated(tmp_path_factory: pytest.TempPathFactory, size: str) -> Path:
    """Write the benchmark generator's set of ``size`` into a new folder."""
    out = tmp_path_factory.mktemp(f"org-{size}") / f"org-{size}"
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--size", size, "-o", str(out), "-q"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark generator's S set: 10 collections, 200 versions, 100 runs, 400 actions."""
    return generated(tmp_path_factory, "S")


class Reference:
    """A complete build of a set, to compare with: its files, and when it staged and finished."""

    def __init__(self, manifests: Path, out: Path) -> None:
        self.folder = out
        proc = start("-q", "build", manifests, "-o", out)
        began = time.monotonic()
        wait_for(lambda: bool(beside(out, "build")), proc)
        self.staged_after = time.monotonic() - began
        _, err = proc.communicate(timeout=300)
        self.seconds = time.monotonic() - began
        assert proc.returncode == 0, err
        self.files = snapshot(out)

    def copy_to(self, target: Path) -> None:
        """Put this site at ``target`` (replacing what is there), as a build would have left it."""
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.folder, target)


@pytest.fixture(scope="module")
def larger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark generator's M set (3,440 pages): a build long enough to interrupt at a chosen stage."""
    return generated(tmp_path_factory, "M")


@pytest.fixture(scope="module")
def larger_reference(larger: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    return Reference(larger, tmp_path_factory.mktemp("larger-reference") / "site")


@pytest.fixture(scope="module")
def medium_reference(medium: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    return Reference(medium, tmp_path_factory.mktemp("reference") / "site")


@pytest.fixture(scope="module")
def zoo_reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    return Reference(ZOO, tmp_path_factory.mktemp("zoo-reference") / "site")


# ---------------------------------------------------------------------------------- SIGKILL


def kill_points(reference: Reference) -> list[tuple[str, Callable[[Path], bool] | float]]:
    """Return 20 moments to kill a build: 4 by time before it stages, 14 by files staged, 2 at commit."""
    total = len(reference.files)
    points: list[tuple[str, Callable[[Path], bool] | float]] = [
        (f"{f:.0%} of the way to staging", f * reference.staged_after) for f in (0.1, 0.35, 0.6, 0.85)
    ]
    for k in range(1, 15):
        wanted = max(1, total * k // 15)
        points.append((f"{wanted} of {total} files staged", lambda out, n=wanted: staged_files(out) >= n))
    points.append(("SHA256SUMS staged", lambda out: any((s / SUMS).exists() for s in beside(out, "build"))))
    points.append(("mid-swap", lambda out: bool(beside(out, "old")) or staged_files(out) >= total))
    return points


def test_a_build_killed_at_20_points_leaves_the_previous_site_byte_identical(
    tmp_path: Path, medium: Path, medium_reference: Reference, zoo_reference: Reference
) -> None:
    out = tmp_path / "site"
    zoo_reference.copy_to(out)  # the previous site
    before = snapshot(out)
    killed, finished = [], []
    for label, when in kill_points(medium_reference):
        cold(out)
        proc = start("-q", "build", medium, "-o", out)
        if isinstance(when, float):
            wait_for(lambda: False, proc, limit=when)
        else:
            wait_for(lambda: when(out), proc)  # noqa: B023 - called before the next iteration
        with contextlib.suppress(ProcessLookupError):  # it ended first, and its group with it
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        if proc.returncode == 0:  # it finished first: the new site must then be whole
            finished.append(label)
            assert snapshot(out) == medium_reference.files, label
            zoo_reference.copy_to(out)  # put the previous site back
            continue
        assert proc.returncode == -signal.SIGKILL, (label, proc.returncode)
        killed.append(label)
        assert site_now(out) == before, f"killed at {label}: the previous site changed"
        if out.exists():
            assert_clean(check_sums(out, sorted(before)))
    assert len(killed) >= 15, f"only {len(killed)} builds were killed mid-way; finished first: {finished}"
    done = build(medium, out)
    assert done.returncode == 0, done.stderr
    assert snapshot(out) == medium_reference.files  # the next build recovers and is whole
    assert beside(out) == []
    assert_clean(check_site(out))


# ---------------------------------------------------------------------------------- Ctrl-C


def _interrupt_at(
    point: str, out: Path, manifests: Path, reference: Reference
) -> subprocess.CompletedProcess[str]:
    proc = start("-q", "build", manifests, "-o", out)
    if point == "drawing graphs":  # the site is staged (its folder made) before the graphs are drawn
        wait_for(lambda: bool(beside(out, "build")), proc)
        wait_for(lambda: staged_files(out) > 0, proc, limit=0.3)
    else:
        wait_for(lambda: staged_files(out) >= len(reference.files) // 3, proc)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    out_text, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out_text, err)


@pytest.mark.parametrize("point", ["drawing graphs", "writing pages"])
def test_ctrl_c_leaves_the_previous_site_and_no_staging(
    tmp_path: Path, larger: Path, larger_reference: Reference, zoo_reference: Reference, point: str
) -> None:
    out = tmp_path / "site"
    zoo_reference.copy_to(out)
    before = snapshot(out)
    cold(out)
    done = _interrupt_at(point, out, larger, larger_reference)
    assert done.returncode != 0
    assert snapshot(out) == before
    assert beside(out) == []  # an interrupted build clears its staging folder itself


@pytest.mark.parametrize("point", ["drawing graphs", "writing pages"])
def test_ctrl_c_exits_130_quietly(
    tmp_path: Path, larger: Path, larger_reference: Reference, point: str
) -> None:
    out = tmp_path / "site"
    done = _interrupt_at(point, out, larger, larger_reference)
    assert done.returncode == 130, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
    assert done.stderr.strip() in {"interrupted", "error: interrupted"}


# ---------------------------------------------------------------------------------- two builds at once


def test_a_build_refuses_a_folder_another_process_is_writing(
    tmp_path: Path, zoo_reference: Reference
) -> None:
    out = tmp_path / "site"
    assert build(ZOO, out).returncode == 0
    before = snapshot(out)
    fd = os.open(tmp_path / ".site.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # what a running build holds
        done = build(ZOO, out)
    finally:
        os.close(fd)
    assert done.returncode == 1
    assert done.stderr.startswith("error: another reportgen build is writing"), done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(out) == before and beside(out) == []


def test_two_builds_into_one_folder_never_mix_the_site(
    tmp_path: Path, medium: Path, medium_reference: Reference, zoo_reference: Reference
) -> None:
    """Race two builds of different sets, started together and staggered: one may be refused, clearly;
    the site afterwards is always exactly one of the two complete sites."""
    out = tmp_path / "site"
    zoo_reference.copy_to(out)
    refusals = 0
    for stagger in ("together", "when the first stages"):
        cold(out)
        first = start("-q", "build", medium, "-o", out)
        if stagger != "together":
            wait_for(lambda: bool(beside(out, "build")), first)
        second = start("-q", "build", ZOO, "-o", out)
        results = [(p, *p.communicate(timeout=300)) for p in (first, second)]
        codes = sorted(p.returncode for p, _, _ in results)
        assert codes in ([0, 0], [0, 1]), [(p.returncode, err) for p, _, err in results]
        for proc, _, err in results:
            assert "Traceback" not in err, err
            if proc.returncode == 1:
                refusals += 1
                assert err.startswith("error: another reportgen build is writing"), err
        assert snapshot(out) in (medium_reference.files, zoo_reference.files), "the site is a mix"
        assert beside(out) == []
    print(f"{refusals} of 2 races had a refusal")


# ---------------------------------------------------------------------------------- read-only, full disk


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """Mount a small tmpfs at ``path`` (root only); skip the test where mounting is not permitted."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"mount not permitted here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def read_only(path: Path) -> None:
    done = subprocess.run(["mount", "-o", "remount,ro", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"remount read-only not permitted: {done.stderr.decode().strip()}")


def test_a_read_only_output_folder_leaves_the_site(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "8m") as disk:
        out = disk / "site"
        assert build(ZOO, out).returncode == 0
        before = snapshot(out)
        read_only(disk)
        for target in (out, disk / "new" / "site"):
            done = build(ZOO, target)
            assert done.returncode == 1, done.stderr
        assert snapshot(out) == before


def test_a_read_only_output_folder_gives_a_clear_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "8m") as disk:
        (disk / "parent").mkdir()
        read_only(disk)
        for target in (disk / "parent" / "site", disk / "new" / "site"):
            done = build(ZOO, target)
            assert done.returncode == 1
            assert "Traceback" not in done.stderr, done.stderr[-1500:]
            assert done.stderr.startswith("error: ") and "read-only" in done.stderr.lower()


def test_a_full_disk_leaves_the_previous_site(tmp_path: Path, medium: Path) -> None:
    with tmpfs(tmp_path / "disk", "2m") as disk:
        out = disk / "site"
        assert build(ZOO, out).returncode == 0  # ~0.8 MiB with its graph cache
        before = snapshot(out)
        done = build(medium, out)  # ~14 MiB: the disk fills while staging
        assert done.returncode == 1
        assert snapshot(out) == before
        assert beside(out) == []  # the half-written staging folder is removed


def test_a_full_disk_gives_a_clear_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "512k") as disk:
        done = build(ZOO, disk / "site")
        assert done.returncode == 1
        assert "Traceback" not in done.stderr, done.stderr[-1500:]
        assert done.stderr.startswith("error: ") and "no space left" in done.stderr.lower()


# ---------------------------------------------------------------------------------- Graphviz failing

FAKE_DOT = """#!/bin/sh
# Graphviz's dot, except on graphs that hold a marker: crash, hang, or print no SVG.
for arg in "$@"; do
  if [ "$arg" = "-V" ]; then exec {dot} -V; fi
done
input=$(cat)
case "$input" in
  *crash-me*) kill -SEGV $$ ;;
  *hang-me*) exec sleep 60 ;;
  *garbage-me*) echo "this is not svg"; exit 0 ;;
esac
printf '%s' "$input" | exec {dot} "$@"
"""
CASE = """artifacts:
  - {{name: data, version: v0, type: dataset}}
  - {{name: "{marker}<script>alert(1)</script>", version: v0, type: model}}
  - {{name: other, version: v0, type: dataset}}
runs:
  - {{id: unrelated, inputs: ["other:v0"]}}
  - {{id: train, inputs: ["data:v0"], outputs: ["{marker}<script>alert(1)</script>:v0"]}}
"""


@pytest.fixture
def fake_dot(tmp_path: Path) -> str:
    """Return a PATH prefix under which `dot` crashes, hangs or prints garbage on marked graphs."""
    real = shutil.which("dot")
    if real is None:
        pytest.skip("no system Graphviz to stand in for")
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "dot").write_text(FAKE_DOT.format(dot=real))
    (folder / "dot").chmod(0o755)
    return str(folder)


@pytest.mark.parametrize(
    ("marker", "message", "options"),
    [
        ("crash-me", "was killed by signal 11", []),
        ("hang-me", "Graphviz layout timed out after 0.5 s", ["--timeout", "0.5"]),
        ("garbage-me", "Graphviz produced no <svg> element", []),
    ],
)
def test_a_failing_renderer_stops_the_build_naming_the_graph(
    tmp_path: Path, fake_dot: str, marker: str, message: str, options: list[str]
) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "m.yaml").write_text(CASE.format(marker=marker))
    out = tmp_path / "site"
    assert build(ZOO, out).returncode == 0
    before = snapshot(out)
    done = build(manifests, out, "--renderer", "system", *options, path_prefix=fake_dot)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith("error: cannot draw graph '") and message in first, done.stderr
    assert first.split("'")[1] in {"data:v0", f"{marker}<script>alert(1)</script>:v0", "train"}
    assert snapshot(out) == before and beside(out) == []


@pytest.mark.parametrize(
    ("marker", "options"),
    [("crash-me", []), ("hang-me", ["--timeout", "0.5"]), ("garbage-me", [])],
)
def test_keep_going_records_the_failed_graph_on_its_page(
    tmp_path: Path, fake_dot: str, marker: str, options: list[str]
) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "m.yaml").write_text(CASE.format(marker=marker))
    out = tmp_path / "site"
    done = build(manifests, out, "--renderer", "system", "--keep-going", *options, path_prefix=fake_dot)
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if line.startswith("warning: cannot draw graph")]
    assert len(warned) == 3, done.stderr  # the three graphs that hold the marked node
    assert (out / "runs" / "unrelated.svg").is_file()  # the others are drawn
    assert not (out / "runs" / "train.svg").exists()
    page = (out / "runs" / "train.html").read_text(encoding="utf-8")
    assert "cannot draw graph" in page
    assert_clean(check_site(out))  # the error text, with the name in it, is escaped on the page


def test_a_traceback_while_python_starts_is_told_from_one_in_reportgen() -> None:
    def traceback(*frames: tuple[str, str]) -> str:
        lines = [f'  File "{file}", line 3, in {where}' for file, where in frames]
        return "\n".join(["Traceback (most recent call last):", *lines, "KeyboardInterrupt", ""])

    script, package = ("/venv/bin/reportgen", "<module>"), REPO / "reportgen"
    startup = traceback(("<frozen site>", "addsitedir"), ("<frozen posixpath>", "join"))
    finding = traceback(script, ("<frozen importlib._bootstrap>", "_find_and_load"))
    init = traceback(script, (str(package / "__init__.py"), "<module>"))
    assert _while_python_starts(startup) and _while_python_starts(finding) and _while_python_starts(init)
    in_main = traceback(script, (str(package / "launch.py"), "main"))
    in_cli = traceback(
        script, (str(package / "launch.py"), "<module>"), (str(package / "cli.py"), "<module>")
    )
    assert not _while_python_starts(in_main) and not _while_python_starts(in_cli)
    assert not _while_python_starts(init.replace("KeyboardInterrupt", "ValueError: boom"))


@pytest.mark.parametrize("where", ["a weak reference's callback", "__del__"])
def test_a_ctrl_c_python_would_drop_is_delivered_again(where: str) -> None:
    """Python prints a KeyboardInterrupt raised in a callback it cannot raise from as "Exception ignored"
    and goes on: a Ctrl-C that lands in the import system's module locks (their callbacks run while the
    command line imports) was lost, and the build ran to its end. ``launch.main`` makes it arrive again."""
    code = f"""
import sys, time, weakref
from reportgen import launch
sys.unraisablehook = launch.deliver_interrupts
class Thing:
    def __del__(self):
        if {where == "__del__"!r}:
            raise KeyboardInterrupt
def dropped(ref):
    raise KeyboardInterrupt
thing = Thing()
ref = weakref.ref(thing, dropped)
try:
    del thing
    for _ in range(100):
        time.sleep(0.01)
    print("went on")
except KeyboardInterrupt:
    print("interrupted")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=cli_env(), timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "interrupted\n", "")


def test_anything_else_python_drops_is_reported_as_python_does() -> None:
    code = """
import sys
from reportgen import launch
sys.unraisablehook = launch.deliver_interrupts
class Thing:
    def __del__(self):
        raise ValueError("boom")
Thing()
print("went on")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=cli_env(), timeout=60
    )
    assert done.returncode == 0 and done.stdout == "went on\n"
    assert done.stderr.startswith("Exception ignored in") and "ValueError: boom" in done.stderr


class _Interrupting:
    """A class attribute whose ``__set_name__`` is where a Ctrl-C lands (each dataclass field has one)."""

    def __set_name__(self, owner: type, name: str) -> None:
        raise KeyboardInterrupt


def _interrupted_in_a_class_hook() -> None:
    class Model:  # what importing a module of dataclasses does, interrupted
        field = _Interrupting()


def test_a_ctrl_c_in_a_class_hook_is_told_from_other_errors() -> None:
    with pytest.raises(BaseException) as raised:
        _interrupted_in_a_class_hook()
    # Python 3.11 raises a RuntimeError caused by the Ctrl-C; later versions the Ctrl-C itself
    assert launch.by_interrupt(raised.value)
    assert not launch.by_interrupt(RuntimeError("boom"))
    assert not launch.by_interrupt(ValueError("boom"))
    chained = ValueError("boom")
    chained.__cause__ = chained  # a cycle of causes ends
    assert not launch.by_interrupt(chained)


def test_a_ctrl_c_in_a_class_hook_while_the_command_line_imports_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Ctrl-C that landed in a dataclass field's ``__set_name__`` while the command line was imported
    printed a traceback (CI, once): Python 3.11 raised a RuntimeError caused by it."""
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)  # launch.main sets its own
    monkeypatch.delitem(sys.modules, "reportgen.cli", raising=False)
    real_import = __import__

    def importing(name: str, *args: object, **kwargs: object) -> object:
        if name == "reportgen.cli":
            _interrupted_in_a_class_hook()
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", importing)
    with pytest.raises(SystemExit) as exited:
        launch.main()
    assert exited.value.code == launch.EXIT_INTERRUPTED
    assert capsys.readouterr().err == "interrupted\n"


def test_a_ctrl_c_in_a_class_hook_while_a_command_runs_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same, in a module a command imports when it needs it (Graphviz's bindings, for one)."""
    from reportgen import cli

    def command(**kwargs: object) -> None:
        _interrupted_in_a_class_hook()

    monkeypatch.setattr(cli.cli, "main", command)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == launch.EXIT_INTERRUPTED
    assert capsys.readouterr().err == "interrupted\n"

    def failing(**kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli.cli, "main", failing)
    with pytest.raises(RuntimeError, match="boom"):  # anything else is not taken for a Ctrl-C
        cli.main()


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.06, 0.1, 0.15, 0.2])
def test_ctrl_c_while_the_command_starts_prints_no_traceback(tmp_path: Path, delay: float) -> None:
    """Importing the command line takes a fifth of a second: a Ctrl-C then exits 130 as any other does
    (or, before Python has started at all, ends the process as the signal does), never with a traceback
    from reportgen's code.

    Before ``launch.main`` runs, Python is still starting: reading its site packages, finding the
    package, running its ``__init__`` and ``launch``, which import nothing so that this lasts as short
    a time as it can (a few milliseconds). A Ctrl-C then ends Python with its own traceback, as it
    would any program; on a slow machine the first delays can fall there.
    """
    proc = start("-q", "build", ZOO, "-o", tmp_path / "site")
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if err.startswith("Exception ignored in"):
        # Python dropped it, in a callback of its import system, before ``launch.main`` could deliver
        # it again (``deliver_interrupts``): the build went on
        assert _while_python_starts(err), err
        assert proc.returncode == 0, (proc.returncode, err)
        return
    if "Traceback" in err:
        assert _while_python_starts(err), err
        # 1 when it stopped Python's site module ("Fatal Python error: init_import_site"), else the signal's
        assert proc.returncode in (1, -signal.SIGINT), (proc.returncode, err)
        return
    assert "KeyboardInterrupt" not in err, err
    if proc.returncode != -signal.SIGINT:  # stopped by the signal itself, before Python handles it
        assert proc.returncode in (130, 0), (proc.returncode, err)  # 0: the build was already done
        assert err.strip() in {"", "interrupted", "error: interrupted"}, err
