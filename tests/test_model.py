"""The domain model: Organisation queries, immutability, sorted output and the small value types."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from textwrap import dedent

import pytest

from reportgen.diagnostics import Reporter
from reportgen.load import load_bytes, load_paths
from reportgen.model import (
    ActionKind,
    ArtifactRef,
    ArtifactVersion,
    CollectionVersion,
    EventKind,
    Organisation,
    Run,
)
from reportgen.spec import FormatError
from reportgen.validate import build_organisation, validate

# Runs, artifacts and collections are written out of order on purpose: the model must sort them.
ORG = """\
registries:
  - name: model
    protected_aliases: [production]
collections:
  - {registry: model, name: clf, type: model}
  - {registry: dataset, name: splits, type: dataset}
  - {registry: model, name: baseline, type: model}
artifacts:
  - {name: model, version: v1, type: model}
  - name: model
    version: 0
    type: model
    aliases: [best]
    metadata: {framework: keras, layers: {dense: 3}}
    created_at: "2026-01-10T10:00:00+02:00"
    ttl_days: 30
  - {name: data, version: v10, type: dataset}
  - {name: data, version: v2, type: dataset}
  - {name: data, version: v0, type: dataset, state: deleted}
  - {name: data, version: v1, type: dataset}
  - {name: raw, version: v0, type: dataset}
runs:
  - id: train-b
    inputs: ["data:v0"]
    outputs: ["model:v0"]
    config: {lr: 0.01, layers: [64, 32]}
    created_at: "2026-01-10T07:00:00Z"
    finished_at: "2026-01-10T08:30:00Z"
  - {id: prep, name: Prepare data, inputs: ["raw:v0"], outputs: ["data:v0"]}
  - {id: eval, inputs: ["model:v1", "model:v0"]}
  - {id: train-a, inputs: ["data:v1", "data:v0"], outputs: ["model:v1"]}
  - {id: prep-again, inputs: ["raw:v0"], outputs: ["data:v0", "data:v1"]}
actions:
  - {at: "2026-02-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "model:v1"}
  - {at: "2026-01-15T00:00:00Z", user: bob, action: link, collection: dataset/splits, artifact: "data:v1"}
  - {at: "2026-02-02T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "model:v0"}
  - {at: "2026-02-03T00:00:00Z", user: ann, action: add_alias, collection: model/clf, artifact: "model:v0",
     alias: production, reason: approved}
  - {at: "2026-02-02T00:00:00Z", user: cy, action: link, collection: model/baseline, artifact: "model:v0"}
"""


def organisation(text: str, name: str = "m.yaml") -> Organisation:
    reporter = Reporter()
    documents = load_bytes(dedent(text).encode(), name, reporter)
    org = build_organisation(documents, reporter)
    assert reporter.diagnostics == [], "\n".join(map(str, reporter.diagnostics))
    return org


@pytest.fixture(scope="module")
def org() -> Organisation:
    return organisation(ORG)


def ref(text: str) -> ArtifactRef:
    return ArtifactRef.parse(text)


def ids(runs: tuple[Run, ...]) -> list[str]:
    return [r.id for r in runs]


# ------------------------------------------------------------------------------ lineage queries


def test_runs_logging_lists_every_run_that_logged_a_version_by_id(org: Organisation) -> None:
    assert ids(org.runs_logging(ref("data:v0"))) == ["prep", "prep-again"]
    assert ids(org.runs_logging(ref("data:v1"))) == ["prep-again"]
    assert ids(org.runs_logging(ref("raw:v0"))) == []
    assert ids(org.runs_logging(ref("nope:v0"))) == []


def test_runs_using_lists_consumers_by_id(org: Organisation) -> None:
    assert ids(org.runs_using(ref("data:v0"))) == ["train-a", "train-b"]
    assert ids(org.runs_using(ref("raw:v0"))) == ["prep", "prep-again"]
    assert ids(org.runs_using(ref("model:v0"))) == ["eval"]
    assert ids(org.runs_using(ref("data:v10"))) == []


def test_run_fields_keep_their_written_order(org: Organisation) -> None:
    # inputs are what the run wrote; the model does not reorder a run's own list
    assert org.runs["train-a"].inputs == (ref("data:v1"), ref("data:v0"))
    assert org.runs["prep"].name == "Prepare data"
    assert org.runs["eval"].name == "eval"  # defaults to the id


def test_links_of_gives_every_collection_version_of_an_artifact(org: Organisation) -> None:
    links = org.links_of(ref("model:v0"))
    assert [cv.full_name for cv in links] == ["model/baseline:v0", "model/clf:v1"]
    assert all(isinstance(cv, CollectionVersion) and cv.artifact == ref("model:v0") for cv in links)
    assert org.links_of(ref("raw:v0")) == ()


def test_unlinked_artifacts_are_those_never_linked_sorted(org: Organisation) -> None:
    assert [str(a.ref) for a in org.unlinked_artifacts()] == [
        "data:v0",
        "data:v2",
        "data:v10",
        "raw:v0",
    ]


def test_collections_in_a_registry(org: Organisation) -> None:
    assert [h.full_name for h in org.collections_in("model")] == ["model/baseline", "model/clf"]
    assert [h.full_name for h in org.collections_in("dataset")] == ["dataset/splits"]
    assert org.collections_in("eval-suites") == ()
    # `dataset` is named by a collection but never declared: it exists implicitly
    assert org.registries["dataset"].declared is False
    assert org.registries["model"].protected_aliases == ("production",)


def test_events_merge_every_collection_oldest_first_ties_by_collection(org: Organisation) -> None:
    events = [(e.at.date().isoformat(), e.collection, e.kind.value, e.alias) for e in org.events()]
    assert events == [
        ("2026-01-15", "dataset/splits", "linked", None),
        ("2026-01-15", "dataset/splits", "alias_added", "latest"),
        ("2026-02-01", "model/clf", "linked", None),
        ("2026-02-01", "model/clf", "alias_added", "latest"),
        ("2026-02-02", "model/baseline", "linked", None),  # tie with model/clf: collection name first
        ("2026-02-02", "model/baseline", "alias_added", "latest"),
        ("2026-02-02", "model/clf", "linked", None),
        ("2026-02-02", "model/clf", "alias_moved", "latest"),
        ("2026-02-03", "model/clf", "alias_added", "production"),
    ]
    assert len(list(org.events())) == sum(len(h.events) for h in org.collections.values())


def test_versions_of_is_numeric_oldest_first(org: Organisation) -> None:
    assert [a.version for a in org.versions_of("data")] == [0, 1, 2, 10]
    assert org.versions_of("unknown") == ()


def test_aliases_of_joins_own_and_collection_aliases(org: Organisation) -> None:
    assert org.aliases_of(ref("model:v0")) == ("best", "latest", "production")
    assert org.aliases_of(ref("data:v1")) == ("latest",)
    assert org.aliases_of(ref("model:v1")) == ()  # lost `latest` when model:v0 was linked after it
    assert org.aliases_of(ref("raw:v0")) == ()


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("model:v1", ArtifactVersion, "model:v1"),
        ("data:v10", ArtifactVersion, "data:v10"),
        ("train-a", Run, "train-a"),
        ("prep-again", Run, "prep-again"),
        ("model/clf:v0", CollectionVersion, "model:v1"),
        ("model/clf:v1", CollectionVersion, "model:v0"),
        ("dataset/splits:v0", CollectionVersion, "data:v1"),
    ],
)
def test_resolve_names(org: Organisation, text: str, kind: type, expected: str) -> None:
    found = org.resolve(text)
    assert isinstance(found, kind)
    if isinstance(found, Run):
        assert found.id == expected
    elif isinstance(found, ArtifactVersion):
        assert str(found.ref) == expected
    else:
        assert isinstance(found, CollectionVersion)
        assert found.full_name == text
        assert str(found.artifact) == expected


@pytest.mark.parametrize(
    "text",
    ["", "nothing", "model:v9", "model:v01", "model:1", "model/clf:v2", "model/nope:v0", "model/clf", ":v0"],
)
def test_resolve_unknown_text_is_none(org: Organisation, text: str) -> None:
    assert org.resolve(text) is None


def test_resolve_prefers_a_run_named_like_a_ref() -> None:
    org = organisation(
        """\
        artifacts: [{name: x, version: v0, type: t}]
        runs: [{id: "x:v0"}]
        """
    )
    assert isinstance(org.resolve("x:v0"), Run)


# ------------------------------------------------------------------------------ sorted output


def test_every_mapping_is_sorted_whatever_the_file_order(org: Organisation) -> None:
    assert list(org.runs) == ["eval", "prep", "prep-again", "train-a", "train-b"]
    assert [str(r) for r in org.artifacts] == [
        "data:v0",
        "data:v1",
        "data:v2",
        "data:v10",
        "model:v0",
        "model:v1",
        "raw:v0",
    ]
    assert list(org.collections) == ["dataset/splits", "model/baseline", "model/clf"]
    assert list(org.registries) == ["dataset", "model"]


def test_reversed_files_give_the_same_order_and_content() -> None:
    first = organisation(
        """\
        runs: [{id: b}, {id: a}, {id: c}]
        artifacts: [{name: z, version: v1, type: t}, {name: a, version: v3, type: t}]
        """
    )
    second = organisation(
        """\
        artifacts: [{name: a, version: v3, type: t}, {name: z, version: v1, type: t}]
        runs: [{id: c}, {id: a}, {id: b}]
        """
    )
    assert list(first.runs) == list(second.runs) == ["a", "b", "c"]
    assert list(first.artifacts) == list(second.artifacts) == [ref("a:v3"), ref("z:v1")]
    assert [r.id for r in first.runs.values()] == ["a", "b", "c"]


def test_actions_are_kept_in_replay_order(org: Organisation) -> None:
    assert [a.at for a in org.actions] == sorted(a.at for a in org.actions)
    assert [(a.kind.value, a.collection) for a in org.actions[:2]] == [
        ("link", "dataset/splits"),
        ("link", "model/clf"),
    ]


def test_actions_keep_their_place_but_not_their_fields_places(org: Organisation) -> None:
    assert org.actions
    for action in org.actions:  # the fields' places serve the replay's diagnostics only
        assert action.location.line > 0 and action.location.file.endswith(".yaml")
        assert not action.field_locations and action.where("alias") == action.location


# ------------------------------------------------------------------------------ immutability


def test_model_objects_are_frozen(org: Organisation) -> None:
    run = org.runs["prep"]
    artifact = org.artifacts[ref("model:v0")]
    history = org.collections["model/clf"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        artifact.state = "deleted"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        org.runs = {}  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        history.versions[0].unlinked_at = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        history.events[0].kind = EventKind.UNLINKED  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        org.registries["model"].protected_aliases = ()  # type: ignore[misc]
    assert run.name == "Prepare data"
    assert artifact.state == "committed"


def test_mappings_are_read_only(org: Organisation) -> None:
    artifact = org.artifacts[ref("model:v0")]
    with pytest.raises(TypeError):
        artifact.metadata["framework"] = "torch"  # type: ignore[index]
    with pytest.raises(TypeError):
        org.runs["new"] = org.runs["prep"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del org.artifacts[ref("raw:v0")]  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        org.runs["train-b"].config["lr"] = 1.0  # type: ignore[index]
    state = org.collections["model/clf"].current
    with pytest.raises(TypeError):
        state.aliases["production"] = 0  # type: ignore[index]
    assert isinstance(org.collections["model/clf"].versions, tuple)
    assert isinstance(org.runs["train-a"].inputs, tuple)
    assert artifact.metadata["framework"] == "keras"


def test_nested_metadata_is_read_only_too() -> None:
    org = organisation(ORG)  # its own copy: today the mutation below succeeds
    nested = org.artifacts[ref("model:v0")].metadata["layers"]
    with pytest.raises(TypeError):
        nested["dense"] = 99
    with pytest.raises((TypeError, AttributeError)):
        org.runs["train-b"].config["layers"].append(16)


def test_state_snapshots_do_not_change_with_later_queries(org: Organisation) -> None:
    history = org.collections["model/clf"]
    before = history.state_at(datetime(2026, 2, 1, 12, tzinfo=UTC))
    history.state_at(None)
    assert dict(before.aliases) == {"latest": 0}
    assert before.linked == (0,)


# ------------------------------------------------------------------------------ value types


def test_artifact_version_derived_fields(org: Organisation) -> None:
    artifact = org.artifacts[ref("model:v0")]
    assert artifact.ref == ArtifactRef("model", 0)
    assert artifact.created_at == datetime(2026, 1, 10, 8, 0, tzinfo=UTC)  # +02:00 shown as UTC
    assert artifact.created_at is not None and artifact.created_at.utcoffset() == timedelta(0)
    assert artifact.expires_at == datetime(2026, 2, 9, 8, 0, tzinfo=UTC)
    assert artifact.is_deleted is False
    assert org.artifacts[ref("data:v0")].is_deleted is True
    assert org.artifacts[ref("data:v1")].expires_at is None
    assert artifact.aliases == ("best",)
    assert dict(artifact.metadata) == {"framework": "keras", "layers": {"dense": 3}}


def test_run_duration(org: Organisation) -> None:
    assert org.runs["train-b"].duration == timedelta(hours=1, minutes=30)
    assert org.runs["prep"].duration is None


def test_artifact_ref_parse_str_and_order() -> None:
    assert ArtifactRef.parse("split_zoo_dataset:v4") == ArtifactRef("split_zoo_dataset", 4)
    assert str(ArtifactRef("a", 12)) == "a:v12"
    assert ArtifactRef.parse("ns:name:v3") == ArtifactRef("ns:name", 3)  # the last colon splits
    assert sorted([ref("a:v10"), ref("a:v9"), ref("A:v1")]) == [ref("A:v1"), ref("a:v9"), ref("a:v10")]
    for bad in ("a", "a:3", "a:v", ":v1", "a:v-1", "a:v01", "a:V1"):
        with pytest.raises(FormatError) as info:
            ArtifactRef.parse(bad)
        assert info.value.code == "RG107"


def test_collection_version_labels_and_linked_interval(org: Organisation) -> None:
    cv = org.collections["model/clf"].versions[1]
    assert (cv.label, cv.full_name, cv.linked_by) == ("v1", "model/clf:v1", "ann")
    assert cv.is_linked_at(datetime(2026, 2, 2, tzinfo=UTC))
    assert not cv.is_linked_at(datetime(2026, 2, 1, 23, 59, tzinfo=UTC))
    assert cv.is_linked_at()
    event = org.collections["model/clf"].events[-1]
    assert (event.version_label, event.kind.label, event.reason) == ("v1", "alias added", "approved")


def test_the_model_is_spelled_by_repr_as_dataclasses_and_enums_spell_it() -> None:
    """The fingerprints of a rebuild digest the model through repr, which goes without the dataclasses'
    cycle guard and with each enum member's repr made once: the text is the standard one."""

    def spelled(value: object) -> str:  # how dataclasses, named tuples and enums write a repr
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = (f for f in dataclasses.fields(value) if f.repr)
            inner = ", ".join(f"{f.name}={spelled(getattr(value, f.name))}" for f in fields)
            return f"{type(value).__qualname__}({inner})"
        if isinstance(value, tuple) and hasattr(value, "_fields"):  # a Location
            inner = ", ".join(f"{name}={spelled(getattr(value, name))}" for name in value._fields)
            return f"{type(value).__name__}({inner})"
        if isinstance(value, tuple):
            items = [spelled(v) for v in value]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if isinstance(value, ActionKind | EventKind):
            return f"<{type(value).__name__}.{value.name}: {value.value!r}>"
        return repr(value)

    org = validate(load_paths([Path(__file__).resolve().parent.parent / "sample_manifests"])).organisation
    assert org is not None
    objects: list[object] = [*org.artifacts.values(), *org.runs.values(), *org.collections.values()]
    objects += [e for h in org.collections.values() for e in h.events]
    assert all(repr(o) == spelled(o) for o in objects)
    assert repr(EventKind.ALIAS_MOVED) == "<EventKind.ALIAS_MOVED: 'alias_moved'>"
