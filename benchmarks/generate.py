#!/usr/bin/env python3
"""Generate a synthetic organisation of ML runs, artifact versions and registry actions.

The output is a valid reportgen manifest set (format version 1), split into several files,
for benchmarks and load tests. It is deterministic: the same arguments give byte-identical
files (one `random.Random(seed)`, no wall clock, no hash-order dependence).

    python benchmarks/generate.py --size L -o /tmp/org-L
    python benchmarks/generate.py --runs 300 --artifacts 700 --actions 900 --collections 12 \\
        --seed 7 -o /tmp/org-custom

Shapes: per project, chains of dataset versions (raw -> clean -> split), hyperparameter
sweeps (fan-outs of 5-12 train runs from one split), single retrains, evaluation runs
(model + evaluation suite -> report), curated suite versions, re-uploads of a dataset
version, failed/crashed/killed runs, deleted raw data, and a registry audit log with links,
alias moves (promotions and rollbacks), alias removals and unlinks.

Standard library only: the YAML is written by a small emitter (every value is either a
generated identifier, a number, a timestamp or a JSON-quoted string, all valid YAML).
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import json
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# collections, artifact versions, runs, actions
PRESETS: dict[str, tuple[int, int, int, int]] = {
    "S": (10, 200, 100, 400),
    "M": (50, 2_000, 1_000, 4_000),
    "L": (200, 10_000, 5_000, 20_000),
    "XL": (1_000, 50_000, 25_000, 100_000),
}
RUNS_PER_FILE = 500
ARTIFACTS_PER_FILE = 1_000
ACTIONS_PER_FILE = 2_000
OUR_FILES = ("registries.yaml", "runs-*.yaml", "artifacts-*.yaml", "actions-*.yaml")

T_START = int(datetime(2026, 1, 5, 6, 0, tzinfo=UTC).timestamp())
T_END = int(datetime(2026, 11, 30, 18, 0, tzinfo=UTC).timestamp())
ORG = "acme-synthetic"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


DOMAINS = _words(
    "churn fraud intent recsys forecast ocr asr ner pricing ranking search anomaly "
    "sentiment vision-qa segmentation captioning translation ltv credit-risk demand "
    "routing triage moderation spam geo pose"
)
ARCHS = _words(
    "xgb lgbm catboost mlp resnet50 vit-b16 distilbert roberta t5-small bilstm tabnet unet yolo whisper-small"
)
FIRST = _words(
    "Aisha Alejandro Amara Anders Ana Arjun Beatriz Chen Chidi Dmitri Elena Emeka Farah "
    "Freya Hana Hugo Ines Ingrid Jonas Kavya Kenji Lars Leila Luca Maya Mateo Nadia Noah "
    "Olga Omar Paulo Ravi Rosa Sakura Samir Sven Tariq Yara Yusuf Zanele"
)
LAST = _words(
    "Abadi Bauer Castillo Dubois Eriksen Fernandes Goldberg Haddad Ito Jensen Kowalski "
    "Lindqvist Mbeki Moreau Nakamura Novak Okonkwo Petrov Quinn Rahman Rossi Sato Schmidt "
    "Silva Tanaka Varga Wagner Xu Yilmaz Zhang"
)
ADJ = _words(
    "amber autumn bold brisk calm cosmic crisp dark divine dry eager earnest fiery fresh "
    "gallant gentle giddy golden hardy icy jolly lilac lively lucky lunar misty noble olive "
    "polar proud quiet radiant rosy royal rustic sage scarlet serene silver smooth snowy solar "
    "stellar summer sunny swift twilight vivid warm wild winter wise zesty"
)
NOUN = _words(
    "bird breeze brook bush cherry cloud dawn dew dream dust feather field fire firefly "
    "flower fog forest frog galaxy glade grass haze hill lake leaf meadow moon morning "
    "mountain night paper pine planet pond rain river sea shadow sky smoke snow sound star "
    "sun sunset surf thunder tree violet water wave wind wood"
)
ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
SERVICE_USER = "svc-airflow@acme.example"

# registry -> (artifact type its collections take, protected aliases, alias vocabulary)
REGISTRIES = {
    "model": (
        "model",
        ("production", "staging"),
        ("staging", "production", "challenger", "rollback", "canary", "best"),
    ),
    "dataset": ("dataset", ("golden",), ("golden", "candidate", "deprecated", "audited")),
    "eval-suites": ("eval-suite", ("release",), ("release", "candidate", "frozen")),
}
REGISTRY_DESCRIPTIONS = {
    "model": "Models on their way to production. `production` and `staging` need a reason.",
    "dataset": "Curated training datasets. `golden` marks the split new models must use.",
    "eval-suites": "Frozen evaluation suites. `release` gates promotions.",
}
KIND_ORDER = ("model", "dataset", "eval-suites")


# ------------------------------------------------------------------------------ model
@dataclass
class Artifact:
    seq: int
    name: str
    version: int
    type: str
    project: str
    created: int
    size: int
    file_count: int
    logged_by: str | None = None
    state: str = "committed"
    ttl_days: int | None = None
    metadata: str = ""  # pre-rendered flow mapping
    description: str | None = None
    tags: tuple[str, ...] = ()
    latest: bool = False
    digest: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}:v{self.version}"


@dataclass
class Run:
    id: str
    name: str
    project: str
    job_type: str
    state: str
    user: str
    created: int
    finished: int | None
    group: str | None = None
    notes: str | None = None
    tags: tuple[str, ...] = ()
    config: str = ""
    summary: str = ""
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


@dataclass
class Collection:
    registry: str
    name: str
    type: str
    project: str
    accepts: tuple[str, ...]  # artifact names it links
    description: str
    tags: tuple[str, ...]
    candidates: list[Artifact] = field(default_factory=list)
    created: int | None = None

    @property
    def full(self) -> str:
        return f"{self.registry}/{self.name}"


@dataclass
class Project:
    slug: str
    domain: str
    archs: list[str]
    members: list[str]
    lead: str
    base_model: Artifact | None = None
    wants_base: bool = False
    raw: list[Artifact] = field(default_factory=list)
    clean: list[Artifact] = field(default_factory=list)
    split: list[Artifact] = field(default_factory=list)
    suite: list[Artifact] = field(default_factory=list)
    models: list[Artifact] = field(default_factory=list)
    pending: tuple[str, Artifact | None] | None = None  # next chain step and its input
    sweep_left: int = 0
    sweep_group: str = ""
    sweep_split: Artifact | None = None
    sweep_arch: str = ""
    run_no: int = 0


class Budget:
    """Hand out artifact versions so that the total ends exactly at the target."""

    def __init__(self, total: int, runs: int) -> None:
        self.total = total
        self.runs = max(runs, 1)
        self.used = 0

    def quota(self, run_index: int) -> int:
        """Return how many versions should exist once run `run_index` is done."""
        return min(self.total, self.total * (run_index + 1) // self.runs)

    def allows(self, run_index: int) -> bool:
        """Whether a run may log a version it needs (slightly ahead of the quota is fine)."""
        return self.used < self.total and self.used < self.quota(run_index) + 2

    def behind(self, run_index: int) -> int:
        return self.quota(run_index) - self.used


# ------------------------------------------------------------------------------ generator
class Generator:
    def __init__(self, collections: int, artifacts: int, runs: int, actions: int, seed: int):
        self.n_coll, self.n_art, self.n_runs, self.n_act = collections, artifacts, runs, actions
        self.rng = random.Random(seed)
        self.artifacts: list[Artifact] = []
        self.last_of_name: dict[str, Artifact] = {}
        self.runs: list[Run] = []
        self.run_ids: set[str] = set()  # membership only, never iterated
        self.actions: list[tuple[int, str, str, str, str, str | None, str | None, str | None]] = []
        self.budget = Budget(artifacts, runs)
        self.people = self._people()
        self.projects: list[Project] = []
        self.collections: list[Collection] = []
        self.accepting: dict[str, Collection] = {}
        self.projects_by_slug: dict[str, Project] = {}

    # -- helpers -------------------------------------------------------------------
    def _people(self) -> list[str]:
        rng = self.rng
        names: list[str] = []
        seen: set[str] = set()
        while len(names) < 48:
            n = f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}@acme.example"
            if n not in seen:
                seen.add(n)
                names.append(n)
        return names

    def _run_id(self) -> str:
        while True:
            # A leading letter keeps YAML from reading an id such as 12345678 or 0x1f2e3d4c
            # as a number.
            rid = self.rng.choice(ID_CHARS[:26]) + "".join(self.rng.choice(ID_CHARS) for _ in range(7))
            if rid not in self.run_ids:
                self.run_ids.add(rid)
                return rid

    def _short_id(self, n: int = 6) -> str:
        return "".join(self.rng.choice(ID_CHARS) for _ in range(n))

    def _digest(self) -> str:
        return f"sha256:{self.rng.getrandbits(256):064x}"

    # -- setup ---------------------------------------------------------------------
    def setup(self) -> None:
        rng = self.rng
        n_proj = max(1, math.ceil(self.n_coll / 3))
        slugs: list[str] = []
        for i in range(n_proj):
            domain = DOMAINS[i % len(DOMAINS)]
            slug = domain if i < len(DOMAINS) else f"{domain}-{i // len(DOMAINS) + 1}"
            slugs.append(slug)
            members = rng.sample(self.people, 3)
            lead = rng.choice([p for p in self.people if p not in members])
            archs = rng.sample(ARCHS, 2)
            self.projects.append(Project(slug, domain, archs, members, lead, wants_base=rng.random() < 0.35))
        # Collection c belongs to project c % n_proj; each project has at most one model,
        # one dataset and one eval-suites collection. Its second architecture's models and
        # its raw/clean data, reports and predictions stay in no collection.
        for c in range(self.n_coll):
            p = self.projects[c % n_proj]
            registry = KIND_ORDER[c // n_proj]
            if registry == "model":
                arch = p.archs[0]
                name = f"{p.slug}-{arch}"
                accepts: tuple[str, ...] = (f"{p.slug}-{arch}",)
                desc = f"**{p.slug}** {arch} models. Owner: {p.members[0]}."
                tags: tuple[str, ...] = (p.domain, arch)
            elif registry == "dataset":
                name = f"{p.slug}-training-data"
                accepts = (f"{p.slug}-split", f"{p.slug}-reference")
                desc = f"Train/val/test splits for **{p.slug}**, refreshed with each data drop."
                tags = (p.domain,)
            else:
                name = f"{p.slug}-eval"
                accepts = (f"{p.slug}-suite",)
                desc = f"Evaluation suites gating **{p.slug}** promotions."
                tags = (p.domain, "eval")
            coll = Collection(registry, name, REGISTRIES[registry][0], p.slug, accepts, desc, tags)
            self.collections.append(coll)
            for a in accepts:
                self.accepting[a] = coll
        # Zipf-like project sizes: a few big teams, a long tail.
        weights = [1.0 / (i + 1) ** 0.6 for i in range(n_proj)]
        rng.shuffle(weights)
        self.cum_weights = []
        acc = 0.0
        for w in weights:
            acc += w
            self.cum_weights.append(acc)

    # -- artifacts -----------------------------------------------------------------
    def new_artifact(
        self,
        name: str,
        type_: str,
        project: Project,
        created: int,
        *,
        size: int,
        files: int,
        run: Run | None,
        metadata: str = "",
        description: str | None = None,
        tags: tuple[str, ...] = (),
    ) -> Artifact:
        prev = self.last_of_name.get(name)
        version = 0 if prev is None else prev.version + 1
        if prev is not None:
            prev.latest = False
            created = max(created, prev.created + 1)
        art = Artifact(
            len(self.artifacts),
            name,
            version,
            type_,
            project.slug,
            created,
            size,
            files,
            metadata=metadata,
            description=description,
            tags=tags,
            latest=True,
            digest=self._digest(),
        )
        if run is not None:
            run.outputs.append(art.ref)
            if self.rng.random() < 0.9:  # logged_by is optional: leave some without
                art.logged_by = run.id
        self.artifacts.append(art)
        self.last_of_name[name] = art
        self.budget.used += 1
        coll = self.accepting.get(name)
        if coll is not None and art.state == "committed":
            coll.candidates.append(art)
        return art

    @staticmethod
    def available(arts: list[Artifact], t: int) -> Artifact | None:
        """Return the newest artifact of the list created before t."""
        for a in reversed(arts):
            if a.created < t:
                return a
        return None

    # -- runs ----------------------------------------------------------------------
    def pick_project(self) -> Project:
        x = self.rng.random() * self.cum_weights[-1]
        return self.projects[min(bisect.bisect_right(self.cum_weights, x), len(self.projects) - 1)]

    def generate_runs(self) -> None:
        rng = self.rng
        span = (T_END - T_START) - 3 * 86_400
        for i in range(self.n_runs):
            t = T_START + (i * span) // max(self.n_runs, 1) + rng.randrange(0, 1200)
            project = self.pick_project()
            self.make_run(i, project, t)
            # artifacts uploaded by hand absorb a budget the runs leave unused
            while self.budget.behind(i) > 4:
                self.upload(self.pick_project(), t + rng.randrange(60, 3600))
        while self.budget.used < self.n_art:
            self.upload(self.pick_project(), T_END - 86_400 + rng.randrange(0, 3600))

    def upload(self, p: Project, t: int) -> None:
        rng = self.rng
        if p.wants_base and p.base_model is None:
            p.base_model = self.new_artifact(
                f"{p.slug}-pretrained",
                "model",
                p,
                t,
                size=rng.randrange(2 * 10**8, 1500 * 10**6),
                files=rng.randrange(4, 9),
                run=None,
                tags=("pretrained",),
                description="Pretrained base model, uploaded by hand (no run logged it).",
                metadata="{source: huggingface, license: apache-2.0}",
            )
            return
        rows = rng.randrange(10_000, 5_000_000)
        self.new_artifact(
            f"{p.slug}-reference",
            "dataset",
            p,
            t,
            size=rows * rng.randrange(40, 400),
            files=rng.randrange(1, 6),
            run=None,
            metadata=f"{{rows: {rows}, source: partner-upload}}",
        )

    def make_run(self, i: int, p: Project, t: int) -> None:
        rng = self.rng
        split = self.available(p.split, t)
        suite = self.available(p.suite, t)
        if p.pending is not None and (p.pending[1] is None or p.pending[1].created < t):
            step, inp = p.pending
            self.data_run(i, p, t, step, inp)
            return
        if split is None and p.pending is None:
            p.pending = ("ingest", None)
            self.data_run(i, p, t, "ingest", None)
            return
        clean = self.available(p.clean, t)
        if suite is None and clean is not None:
            self.suite_run(i, p, t, "build-suite", [clean])
            return
        if p.sweep_left > 0 and p.sweep_split is not None:
            self.train_run(i, p, t, sweep=True)
            return
        roll = rng.random()
        model = self.available(p.models, t)
        if split is not None and roll < 0.12:
            p.sweep_left = rng.randrange(5, 13)
            p.sweep_group = f"sweep-{self._short_id()}"
            p.sweep_split = split
            p.sweep_arch = p.archs[0] if rng.random() < 0.75 else p.archs[1]
            self.train_run(i, p, t, sweep=True)
        elif model is not None and suite is not None and roll < 0.50:
            if rng.random() < 0.3 and len(p.models) > 1:
                model = rng.choice(p.models[:-1])
                if model.created >= t:
                    model = self.available(p.models, t)
            assert model is not None
            self.eval_run(i, p, t, model, suite)
        elif split is not None and roll < 0.62:
            self.train_run(i, p, t, sweep=False)
        elif p.pending is None and roll < 0.78:
            p.pending = ("ingest", None)
            self.data_run(i, p, t, "ingest", None)
        elif suite is not None and roll < 0.86:
            inputs = [suite] + ([clean] if clean is not None and rng.random() < 0.5 else [])
            self.suite_run(i, p, t, "curate", inputs)
        elif split is not None and roll < 0.93:
            self.relog_run(i, p, t, split)
        else:
            self.analysis_run(i, p, t, split)

    def start_run(
        self,
        p: Project,
        t: int,
        job_type: str,
        minutes: tuple[int, int],
        *,
        user: str | None = None,
        allow_running: bool = True,
    ) -> Run:
        rng = self.rng
        p.run_no += 1
        r = rng.random()
        if allow_running and t > T_END - 5 * 86_400 and r < 0.3:
            state = "running" if r < 0.2 else "pending"
        elif r < 0.035:
            state = "failed"
        elif r < 0.055:
            state = "crashed"
        elif r < 0.07:
            state = "killed"
        else:
            state = "finished"
        if state in ("running", "pending"):
            finished = None
        elif state == "finished":
            finished = t + 60 * rng.randrange(*minutes) + rng.randrange(0, 60)
        else:
            finished = t + 60 * rng.randrange(1, max(2, minutes[0])) + rng.randrange(0, 60)
        run = Run(
            self._run_id(),
            f"{rng.choice(ADJ)}-{rng.choice(NOUN)}-{p.run_no}",
            p.slug,
            job_type,
            state,
            user or rng.choice(p.members),
            t,
            finished,
        )
        if state == "failed":
            run.notes = rng.choice(
                (
                    "Failed: CUDA out of memory at step 1,204.",
                    "Failed: schema check rejected 3 columns.",
                    "Failed: NaN loss after warm-up.",
                )
            )
        elif state == "crashed":
            run.notes = "Crashed: spot instance preempted; no heartbeat since."
        elif state == "killed":
            run.notes = "Killed by hand: wrong config."
        self.runs.append(run)
        return run

    def end_time(self, run: Run) -> int:
        return (run.finished if run.finished is not None else run.created + 1800) - 5

    def extras(self, i: int, p: Project, run: Run, kinds: tuple[tuple[str, str], ...]) -> None:
        """Log side outputs (tables, checkpoints) while the artifact budget asks for more."""
        rng = self.rng
        for n, (name, type_) in enumerate(kinds):
            if run.state != "finished" or self.budget.behind(i) <= 0:
                return
            rows = rng.randrange(1_000, 200_000)
            self.new_artifact(
                name,
                type_,
                p,
                self.end_time(run) - n,
                size=rows * 96,
                files=rng.randrange(1, 4),
                run=run,
                metadata=f"{{rows: {rows}}}",
            )

    def data_run(self, i: int, p: Project, t: int, step: str, inp: Artifact | None) -> None:
        rng = self.rng
        if step == "ingest":
            run = self.start_run(p, t, "ingest", (20, 90), user=SERVICE_USER)
            run.config = f"{{source: warehouse, dag: {p.slug.replace('-', '_')}_export}}"
        else:
            assert inp is not None
            run = self.start_run(p, t, step, (5, 60))
            run.inputs.append(inp.ref)
            if step == "preprocess":
                run.config = f"{{impute: median, dedupe: true, min_rows: {rng.randrange(100, 999)}}}"
            else:
                run.config = f"{{train: 0.8, val: 0.1, test: 0.1, seed: {rng.randrange(100)}}}"
        if run.state != "finished" or not self.budget.allows(i):
            return  # the step is retried by a later run
        rows = rng.randrange(50_000, 20_000_000)
        run.summary = f"{{rows: {rows}}}"
        end = self.end_time(run)
        if step == "ingest":
            art = self.new_artifact(
                f"{p.slug}-raw",
                "raw-data",
                p,
                end,
                size=rows * 220,
                files=rng.randrange(1, 64),
                run=run,
                tags=("pii",),
                metadata=f"{{rows: {rows}, format: parquet}}",
            )
            art.ttl_days = 90
            if rng.random() < 0.3:
                art.state = "deleted"
            p.raw.append(art)
            p.pending = ("preprocess", art)
        elif step == "preprocess":
            art = self.new_artifact(
                f"{p.slug}-clean",
                "dataset",
                p,
                end,
                size=rows * 140,
                files=rng.randrange(1, 16),
                run=run,
                metadata=f"{{rows: {rows}}}",
            )
            p.clean.append(art)
            p.pending = ("split", art)
        else:
            art = self.new_artifact(
                f"{p.slug}-split",
                "dataset",
                p,
                end,
                size=rows * 141,
                files=3,
                run=run,
                metadata=f"{{rows: {rows}, splits: [train, val, test]}}",
            )
            p.split.append(art)
            p.pending = None

    def train_run(self, i: int, p: Project, t: int, *, sweep: bool) -> None:
        rng = self.rng
        split: Artifact | None
        if sweep:
            split, arch = p.sweep_split, p.sweep_arch
            p.sweep_left -= 1
        else:
            split = self.available(p.split, t)
            arch = p.archs[0] if rng.random() < 0.75 else p.archs[1]
        assert split is not None, "callers check that a split is available"
        if p.wants_base and p.base_model is None and self.budget.allows(i):
            self.upload(p, t - rng.randrange(600, 7200))
        run = self.start_run(p, t, "train", (15, 360))
        run.inputs.append(split.ref)
        if p.base_model is not None and p.base_model.created < t:
            run.inputs.append(p.base_model.ref)
        if sweep:
            run.group = p.sweep_group
            run.tags = ("sweep", arch)
        else:
            run.tags = (arch,)
        lr = rng.choice(("0.1", "0.03", "0.01", "0.003", "0.001", "0.0003", "0.0001"))
        run.config = (
            f"{{arch: {arch}, lr: {lr}, batch_size: {rng.choice((32, 64, 128, 256))}, "
            f"epochs: {rng.randrange(3, 60)}, seed: {rng.randrange(1000)}}}"
        )
        if run.state == "finished":
            score = 0.6 + 0.35 * rng.random()
            run.summary = (
                f"{{val/score: {score:.4f}, val/loss: {1.1 - score:.4f}, epoch: {rng.randrange(3, 60)}}}"
            )
            if self.budget.allows(i):
                m = self.new_artifact(
                    f"{p.slug}-{arch}",
                    "model",
                    p,
                    self.end_time(run),
                    size=rng.randrange(10**6, 900 * 10**6),
                    files=rng.randrange(1, 8),
                    run=run,
                    metadata=f"{{arch: {arch}, val_score: {score:.4f}}}",
                )
                p.models.append(m)
            self.extras(
                i,
                p,
                run,
                (
                    (f"{p.slug}-{arch}-val-predictions", "predictions"),
                    (f"{p.slug}-{arch}-checkpoint", "checkpoint"),
                    (f"{p.slug}-{arch}-history", "run-table"),
                ),
            )

    def eval_run(self, i: int, p: Project, t: int, model: Artifact, suite: Artifact) -> None:
        rng = self.rng
        run = self.start_run(p, t, "eval", (5, 90))
        run.inputs += [model.ref, suite.ref]
        run.config = f"{{model: {model.ref}, suite: {suite.ref}, batch_size: 256}}"
        if run.state != "finished":
            return
        score = 0.55 + 0.4 * rng.random()
        run.summary = f"{{eval/score: {score:.4f}, eval/worst_slice: {score - 0.08:.4f}}}"
        if self.budget.allows(i):
            self.new_artifact(
                f"{p.slug}-eval-report",
                "eval-report",
                p,
                self.end_time(run),
                size=rng.randrange(20_000, 900_000),
                files=rng.randrange(2, 9),
                run=run,
                metadata=f"{{model: {model.ref}, score: {score:.4f}}}",
            )
        self.extras(
            i,
            p,
            run,
            (
                (f"{p.slug}-eval-predictions", "predictions"),
                (f"{p.slug}-eval-samples", "media"),
                (f"{p.slug}-eval-errors", "run-table"),
            ),
        )

    def suite_run(self, i: int, p: Project, t: int, job_type: str, inputs: list[Artifact]) -> None:
        rng = self.rng
        run = self.start_run(p, t, job_type, (10, 120))
        run.inputs += [a.ref for a in inputs]
        cases = rng.randrange(200, 20_000)
        run.config = f"{{cases: {cases}, seed: {rng.randrange(100)}}}"
        if run.state == "finished" and self.budget.allows(i):
            s = self.new_artifact(
                f"{p.slug}-suite",
                "eval-suite",
                p,
                self.end_time(run),
                size=cases * rng.randrange(200, 4000),
                files=rng.randrange(1, 4),
                run=run,
                metadata=f"{{cases: {cases}}}",
            )
            p.suite.append(s)

    def relog_run(self, i: int, p: Project, t: int, split: Artifact) -> None:
        run = self.start_run(p, t, "upload", (1, 10), allow_running=False)
        run.notes = "Re-upload of an existing split: same digest, so the same version."
        if run.state == "finished":
            run.outputs.append(split.ref)

    def analysis_run(self, i: int, p: Project, t: int, split: Artifact | None) -> None:
        run = self.start_run(p, t, "analysis", (5, 120))
        if split is not None:
            run.inputs.append(split.ref)

    # -- actions -------------------------------------------------------------------
    def generate_actions(self) -> None:
        rng = self.rng
        if self.n_act == 0:
            return
        colls = [c for c in self.collections if c.candidates]
        if not colls:
            sys.exit(
                "generate.py: no artifact version can be linked to a collection; "
                "give more runs/artifacts or --actions 0"
            )
        for c in colls:
            c.candidates.sort(key=lambda a: (a.created, a.seq))
        # per collection state
        nxt = {c.full: 0 for c in colls}  # next candidate index not yet considered
        linked: dict[str, list[tuple[int, Artifact]]] = {c.full: [] for c in colls}
        holders: dict[str, dict[str, int]] = {c.full: {} for c in colls}
        count = {c.full: 0 for c in colls}
        waiting = [(c.candidates[0].created, k) for k, c in enumerate(colls)]
        heapq.heapify(waiting)
        active: list[Collection] = []
        t0 = T_START + (T_END - T_START) // 8
        step = (T_END - t0) / self.n_act
        last = 0
        for k in range(self.n_act):
            t = max(last + 1, t0 + int((k + 0.5 * rng.random()) * step))
            while waiting and waiting[0][0] + 60 < t:
                active.append(colls[heapq.heappop(waiting)[1]])
            if not active:  # nothing linkable yet: wait for the first candidate
                created, idx = heapq.heappop(waiting)
                active.append(colls[idx])
                t = created + 60 + rng.randrange(1, 600)
            last = t
            c = rng.choice(active)
            self.act_on(c, t, nxt, linked[c.full], holders[c.full], count)

    def act_on(
        self,
        c: Collection,
        t: int,
        nxt: dict[str, int],
        linked: list[tuple[int, Artifact]],
        holders: dict[str, int],
        count: dict[str, int],
    ) -> None:
        rng = self.rng
        full = c.full
        _, protected, vocab = REGISTRIES[c.registry]
        lead = self.projects_by_slug[c.project].lead
        members = self.projects_by_slug[c.project].members
        i = nxt[full]
        avail = 0
        while avail < 3 and i + avail < len(c.candidates) and c.candidates[i + avail].created + 60 < t:
            avail += 1
        if avail and (not linked or rng.random() < 0.45):
            pick = i + rng.randrange(avail)
            art = c.candidates[pick]
            nxt[full] = pick + 1  # skipped candidates are never linked
            version = count[full]
            count[full] += 1
            linked.append((version, art))
            self.add_action(t, rng.choice(members), "link", full, art.ref)
            return
        roll = rng.random()
        held = list(holders.items())
        if roll < 0.12 and len(linked) >= 3:
            version, art = linked.pop(0)  # retire the oldest version
            for alias, v in held:
                if v == version:
                    del holders[alias]
            reason: str | None = rng.choice(
                (
                    "Retention policy: superseded for more than 90 days.",
                    f"Superseded; see change review CAB-{rng.randrange(1000, 9999)}.",
                    "Archived after the quarterly registry clean-up.",
                )
            )
            self.add_action(t, rng.choice(members), "unlink", full, art.ref, version, reason=reason)
            return
        if roll < 0.22 and held:
            alias, version = rng.choice(held)
            art = next(a for v, a in linked if v == version)
            del holders[alias]
            reason = (
                f"Retired {alias}; tracked in ticket ML-{rng.randrange(100, 9999)}."
                if alias in protected
                else None
            )
            self.add_action(
                t,
                lead if alias in protected else rng.choice(members),
                "remove_alias",
                full,
                art.ref,
                version,
                alias,
                reason,
            )
            return
        # add_alias: promote, move or tag
        newest = linked[-1][0]
        by_version = dict(linked)
        for _ in range(6):
            alias = rng.choice(vocab)
            if alias == "production" and "staging" in holders:
                target = holders["staging"]  # promotion
            elif alias in ("production", "staging", "candidate", "golden", "release", "best"):
                target = newest
            elif alias == "rollback" and len(linked) > 1:
                target = rng.choice(linked[:-1])[0]  # an older version to fall back to
            elif alias == "deprecated":
                target = linked[0][0]
            else:
                target = rng.choice(linked[-4:])[0]
            if holders.get(alias) != target:
                break
        else:
            free = [a for a in vocab if holders.get(a) != newest]
            if not free:  # the newest version holds every alias: drop one instead
                alias = rng.choice(vocab)
                reason = "Alias retired." if alias in protected else None
                del holders[alias]
                self.add_action(t, lead, "remove_alias", full, by_version[newest].ref, newest, alias, reason)
                return
            alias, target = free[0], newest
        moved_from = holders.get(alias)
        holders[alias] = target
        reason = None
        if alias in protected:
            if moved_from is not None and alias == "production" and rng.random() < 0.15:
                reason = f"INC-{rng.randrange(1000, 9999)}: rollback after a regression."
            else:
                reason = rng.choice(
                    (
                        f"Approved in change review CAB-{rng.randrange(1000, 9999)}.",
                        f"Eval report passed all gates (ticket ML-{rng.randrange(100, 9999)}).",
                        "Signed off by the model risk committee.",
                    )
                )
        user = lead if alias in protected else rng.choice(members)
        self.add_action(t, user, "add_alias", full, by_version[target].ref, target, alias, reason)

    def add_action(
        self,
        t: int,
        user: str,
        action: str,
        coll: str,
        ref: str,
        version: int | None = None,
        alias: str | None = None,
        reason: str | None = None,
    ) -> None:
        # name the target by source artifact mostly, by collection version sometimes
        by_version = action != "link" and version is not None and self.rng.random() < 0.25
        self.actions.append(
            (
                t,
                user,
                action,
                coll,
                ref if not by_version else "",
                f"v{version}" if by_version else None,
                alias,
                reason,
            )
        )

    # -- all -----------------------------------------------------------------------
    def generate(self) -> None:
        self.setup()
        self.projects_by_slug = {p.slug: p for p in self.projects}
        self.generate_runs()
        self.generate_actions()
        first_action: dict[str, int] = {}
        for a in self.actions:
            first_action.setdefault(a[3], a[0])
        for c in self.collections:
            if c.full in first_action:
                c.created = first_action[c.full] - self.rng.randrange(300, 7200)


# ------------------------------------------------------------------------------ writer
def ts(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def q(s: str) -> str:
    return json.dumps(s)


def flow(items: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(items) + "]"


def render_registries(g: Generator) -> list[str]:
    out = ["registries:"]
    for name, (_, protected, _) in REGISTRIES.items():
        out += [
            f"  - name: {name}",
            f"    description: {q(REGISTRY_DESCRIPTIONS[name])}",
            f"    protected_aliases: {flow(protected)}",
            "",
        ]
    out.append("collections:")
    for c in g.collections:
        out += [
            f"  - registry: {c.registry}",
            f"    name: {c.name}",
            f"    type: {c.type}",
            f"    description: {q(c.description)}",
            f"    tags: {flow(c.tags)}",
        ]
        if c.created is not None:
            out.append(f"    created_at: {ts(c.created)}")
        out.append("")
    return out


def render_run(r: Run) -> list[str]:
    out = [f"  - id: {r.id}", f"    name: {r.name}", f"    project: {r.project}"]
    if r.group:
        out.append(f"    group: {r.group}")
    out += [f"    job_type: {r.job_type}", f"    state: {r.state}", f"    user: {r.user}"]
    if r.notes:
        out.append(f"    notes: {q(r.notes)}")
    if r.tags:
        out.append(f"    tags: {flow(r.tags)}")
    out.append(f"    created_at: {ts(r.created)}")
    if r.finished is not None:
        out.append(f"    finished_at: {ts(r.finished)}")
    if r.config:
        out.append(f"    config: {r.config}")
    if r.summary:
        out.append(f"    summary: {r.summary}")
    if r.inputs:
        out.append(f"    inputs: {flow(r.inputs)}")
    if r.outputs:
        out.append(f"    outputs: {flow(r.outputs)}")
    out += [f"    url: https://wandb.ai/{ORG}/{r.project}/runs/{r.id}", ""]
    return out


def render_artifact(a: Artifact) -> list[str]:
    out = [
        f"  - name: {a.name}",
        f"    version: v{a.version}",
        f"    type: {a.type}",
        f"    project: {a.project}",
        f"    digest: {a.digest}",
        f"    size: {a.size}",
        f"    file_count: {a.file_count}",
    ]
    if a.latest:
        out.append("    aliases: [latest]")
    if a.tags:
        out.append(f"    tags: {flow(a.tags)}")
    if a.description:
        out.append(f"    description: {q(a.description)}")
    if a.metadata:
        out.append(f"    metadata: {a.metadata}")
    out.append(f"    created_at: {ts(a.created)}")
    if a.state != "committed":
        out.append(f"    state: {a.state}")
    if a.ttl_days:
        out.append(f"    ttl_days: {a.ttl_days}")
    if a.logged_by:
        out.append(f"    logged_by: {a.logged_by}")
    out += [f"    url: https://wandb.ai/{ORG}/{a.project}/artifacts/{a.type}/{a.name}/v{a.version}", ""]
    return out


def render_action(a: tuple[int, str, str, str, str, str | None, str | None, str | None]) -> list[str]:
    t, user, action, coll, ref, version, alias, reason = a
    out = [f"  - at: {ts(t)}", f"    user: {user}", f"    action: {action}", f"    collection: {coll}"]
    if ref:
        out.append(f"    artifact: {ref}")
    if version:
        out.append(f"    version: {version}")
    if alias:
        out.append(f"    alias: {alias}")
    if reason:
        out.append(f"    reason: {q(reason)}")
    out.append("")
    return out


def write_chunks(
    out_dir: Path,
    header: str,
    stem: str,
    key: str,
    items: Sequence[Any],
    render: Callable[[Any], list[str]],
    per_file: int,
) -> list[Path]:
    paths = []
    width = max(4, len(str(max(1, math.ceil(len(items) / per_file)))))
    for n, start in enumerate(range(0, len(items), per_file), start=1):
        lines = [header, f"{key}:"]
        for it in items[start : start + per_file]:
            lines += render(it)
        path = out_dir / f"{stem}-{n:0{width}d}.yaml"
        path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def write(g: Generator, out_dir: Path, args_line: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for pattern in OUR_FILES:  # stale chunks of an earlier, larger run would break the set
        for old in sorted(out_dir.glob(pattern)):
            old.unlink()
    header = f"# Generated by benchmarks/generate.py {args_line}. Do not edit."
    reg = out_dir / "registries.yaml"
    reg.write_text("\n".join([header, *render_registries(g)]).rstrip("\n") + "\n", encoding="utf-8")
    paths = [reg]
    paths += write_chunks(out_dir, header, "runs", "runs", g.runs, render_run, RUNS_PER_FILE)
    paths += write_chunks(
        out_dir, header, "artifacts", "artifacts", g.artifacts, render_artifact, ARTIFACTS_PER_FILE
    )
    paths += write_chunks(out_dir, header, "actions", "actions", g.actions, render_action, ACTIONS_PER_FILE)
    return paths


# ------------------------------------------------------------------------------ CLI
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Generate a deterministic synthetic manifest set for reportgen benchmarks.",
        epilog="Presets (collections/artifacts/runs/actions): "
        + "; ".join(f"{k} = {c}/{a}/{r}/{x}" for k, (c, a, r, x) in PRESETS.items())
        + ". Explicit counts override the preset.",
    )
    ap.add_argument(
        "--size",
        choices=sorted(PRESETS, key=list(PRESETS).index),
        default=None,
        help="preset size (default S); explicit counts override it",
    )
    ap.add_argument("--collections", type=int, metavar="N", help="number of registry collections")
    ap.add_argument("--artifacts", type=int, metavar="N", help="number of artifact versions")
    ap.add_argument("--runs", type=int, metavar="N", help="number of runs")
    ap.add_argument("--actions", type=int, metavar="N", help="number of registry actions")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("-o", "--output", required=True, type=Path, help="output directory")
    ap.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    args = ap.parse_args(argv)
    c, a, r, x = PRESETS[args.size or "S"]
    args.collections = c if args.collections is None else args.collections
    args.artifacts = a if args.artifacts is None else args.artifacts
    args.runs = r if args.runs is None else args.runs
    args.actions = x if args.actions is None else args.actions
    for name in ("collections", "artifacts", "runs", "actions"):
        if getattr(args, name) < 0:
            ap.error(f"--{name} must be >= 0")
    if args.actions and not args.collections:
        ap.error("--actions needs at least one collection")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    g = Generator(args.collections, args.artifacts, args.runs, args.actions, args.seed)
    g.generate()
    args_line = (
        f"--collections {args.collections} --artifacts {args.artifacts} "
        f"--runs {args.runs} --actions {args.actions} --seed {args.seed}"
    )
    paths = write(g, args.output, args_line)
    if not args.quiet:
        print(
            f"wrote {len(paths)} files to {args.output}: {len(g.collections)} collections, "
            f"{len(g.artifacts)} artifact versions, {len(g.runs)} runs, "
            f"{len(g.actions)} actions in {time.perf_counter() - started:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
