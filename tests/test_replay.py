"""The action replay of PRODUCT.md §2: version numbers, `latest`, alias moves, unlinks, and past states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from textwrap import dedent

import pytest

from reportgen.diagnostics import Diagnostic, Reporter, Severity
from reportgen.load import load_bytes, load_paths
from reportgen.model import ActionKind, ArtifactRef, AuditEvent, CollectionHistory, EventKind, Organisation
from reportgen.validate import build_organisation, validate

HEAD = """\
registries:
  - name: model
    protected_aliases: [production]
collections:
  - {registry: model, name: clf, type: model}
artifacts:
  - {name: m, version: v0, type: model}
  - {name: m, version: v1, type: model}
  - {name: m, version: v2, type: model}
  - {name: m, version: v3, type: model}
"""


def build(text: str, name: str = "m.yaml") -> tuple[Organisation, list[Diagnostic]]:
    reporter = Reporter()
    documents = load_bytes(dedent(text).encode(), name, reporter)
    return build_organisation(documents, reporter), reporter.diagnostics


def org_of(text: str) -> Organisation:
    org, diagnostics = build(text)
    assert diagnostics == [], "\n".join(map(str, diagnostics))
    return org


def clf(actions: str) -> CollectionHistory:
    """Return model/clf after replaying ``actions`` (YAML list items under `actions:`)."""
    return org_of(HEAD + "actions:\n" + dedent(actions)).collections["model/clf"]


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def summary(events: tuple[AuditEvent, ...]) -> list[tuple[str, int, str | None, int | None, bool]]:
    return [(e.kind.value, e.version, e.alias, e.previous_version, e.automatic) for e in events]


# A history with promotions, a rollback, unlinks and a re-link; used by several tests below.
STORY = """\
- {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}
- {at: "2026-02-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v1"}
- {at: "2026-02-10T00:00:00Z", user: bob, action: add_alias, collection: model/clf, artifact: "m:v0",
   alias: production, reason: first release}
- {at: "2026-02-20T00:00:00Z", user: bob, action: add_alias, collection: model/clf, version: v1,
   alias: production, reason: promote v1}
- {at: "2026-03-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v2"}
- {at: "2026-03-05T00:00:00Z", user: ann, action: unlink, collection: model/clf, version: v2}
- {at: "2026-03-10T00:00:00Z", user: bob, action: add_alias, collection: model/clf, artifact: "m:v0",
   alias: production, reason: rollback}
- {at: "2026-03-15T00:00:00Z", user: ann, action: unlink, collection: model/clf, artifact: "m:v0"}
- {at: "2026-03-20T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v2"}
"""


@pytest.fixture(scope="module")
def story() -> CollectionHistory:
    return clf(STORY)


# ------------------------------------------------------------------------------ version numbers


def test_versions_are_numbered_in_link_order_not_artifact_order() -> None:
    history = clf(
        """\
        - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v3"}
        - {at: "2026-01-02T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v1"}
        - {at: "2026-01-03T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v2"}
        """
    )
    assert [(cv.label, str(cv.artifact)) for cv in history.versions] == [
        ("v0", "m:v3"),
        ("v1", "m:v1"),
        ("v2", "m:v2"),
    ]
    assert [cv.full_name for cv in history.versions] == ["model/clf:v0", "model/clf:v1", "model/clf:v2"]
    assert history.versions[1].linked_at == t("2026-01-02T00:00:00Z")
    assert history.versions[1].linked_by == "ann"


def test_versions_follow_at_order_not_file_order() -> None:
    history = clf(
        """\
        - {at: "2026-01-05T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}
        - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v1"}
        """
    )
    assert [str(cv.artifact) for cv in history.versions] == ["m:v1", "m:v0"]


def test_version_numbers_are_never_reused_after_unlink(story: CollectionHistory) -> None:
    # m:v2 was linked as v2, unlinked, then linked again: it gets v3, not v2 again.
    assert [(cv.version, str(cv.artifact)) for cv in story.versions] == [
        (0, "m:v0"),
        (1, "m:v1"),
        (2, "m:v2"),
        (3, "m:v2"),
    ]
    v2 = story.versions[2]
    assert v2.unlinked_at == t("2026-03-05T00:00:00Z")
    assert v2.unlinked_by == "ann"
    assert story.versions[3].unlinked_at is None
    assert story.current.linked == (1, 3)


def test_explicit_link_version_that_is_not_next_is_an_error_and_the_next_number_is_used() -> None:
    org, diagnostics = build(
        HEAD
        + """\
actions:
  - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}
  - {at: "2026-01-02T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v1",
     version: v5}
"""
    )
    assert [(d.code, d.location.line) for d in diagnostics] == [("RG304", 14)]  # at the version field
    assert [cv.version for cv in org.collections["model/clf"].versions] == [0, 1]


# ------------------------------------------------------------------------------ latest


def test_latest_follows_the_newest_link_automatically(story: CollectionHistory) -> None:
    first_two = summary(story.events[:4])
    assert first_two == [
        ("linked", 0, None, None, False),
        ("alias_added", 0, "latest", None, True),
        ("linked", 1, None, None, False),
        ("alias_moved", 1, "latest", 0, True),
    ]
    assert all(e.cause is ActionKind.LINK for e in story.events[:4])


def test_unlinking_the_newest_moves_latest_back(story: CollectionHistory) -> None:
    unlink = [e for e in story.events if e.at == t("2026-03-05T00:00:00Z")]
    assert summary(tuple(unlink)) == [
        ("unlinked", 2, None, None, False),
        ("alias_moved", 1, "latest", 2, True),
    ]
    assert all(e.cause is ActionKind.UNLINK for e in unlink)
    assert unlink[1].artifact == ArtifactRef("m", 1)
    assert story.holder_of("latest", t("2026-03-05T00:00:00Z")).version == 1  # type: ignore[union-attr]


def test_unlinking_an_older_version_leaves_latest_alone(story: CollectionHistory) -> None:
    at = t("2026-03-15T00:00:00Z")
    unlink = [e for e in story.events if e.at == at]
    assert [e.alias for e in unlink if e.alias is not None] == ["production"]
    assert story.state_at(at).holder("latest") == 1


def test_latest_is_removed_when_nothing_is_linked() -> None:
    history = clf(
        """\
        - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}
        - {at: "2026-01-02T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v1"}
        - {at: "2026-01-03T00:00:00Z", user: bob, action: unlink, collection: model/clf, version: v1}
        - {at: "2026-01-04T00:00:00Z", user: bob, action: unlink, collection: model/clf, version: v0}
        """
    )
    assert summary(history.events[4:]) == [
        ("unlinked", 1, None, None, False),
        ("alias_moved", 0, "latest", 1, True),
        ("unlinked", 0, None, None, False),
        ("alias_removed", 0, "latest", None, True),
    ]
    assert history.events[-1].user == "bob"
    assert history.current.linked == ()
    assert dict(history.current.aliases) == {}
    assert history.holder_of("latest") is None
    assert history.holder_of("latest", t("2026-01-03T12:00:00Z")).version == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["add_alias", "remove_alias"])
def test_latest_cannot_be_set_or_removed_by_hand(kind: str) -> None:
    org, diagnostics = build(
        HEAD
        + f"""\
actions:
  - {{at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}}
  - {{at: "2026-01-02T00:00:00Z", user: ann, action: {kind}, collection: model/clf, version: v0,
     alias: latest}}
"""
    )
    assert [d.code for d in diagnostics] == ["RG309"]
    history = org.collections["model/clf"]
    assert len(history.events) == 2  # the rejected action left no event
    assert history.current.holder("latest") == 0


# ------------------------------------------------------------------------------ aliases


def test_add_alias_of_an_alias_held_elsewhere_moves_it(story: CollectionHistory) -> None:
    manual = [e for e in story.events if e.alias == "production" and not e.automatic]
    assert [(e.kind, e.version, e.previous_version, e.user, e.reason) for e in manual] == [
        (EventKind.ALIAS_ADDED, 0, None, "bob", "first release"),
        (EventKind.ALIAS_MOVED, 1, 0, "bob", "promote v1"),
        (EventKind.ALIAS_MOVED, 0, 1, "bob", "rollback"),
    ]
    assert all(e.cause is ActionKind.ADD_ALIAS for e in manual)
    assert EventKind.ALIAS_MOVED.label == "alias moved"


def test_add_alias_to_the_version_that_holds_it_is_an_error() -> None:
    org, diagnostics = build(
        HEAD
        + """\
actions:
  - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}
  - {at: "2026-01-02T00:00:00Z", user: ann, action: add_alias, collection: model/clf, version: v0,
     alias: best}
  - {at: "2026-01-03T00:00:00Z", user: ann, action: add_alias, collection: model/clf, artifact: "m:v0",
     alias: best}
"""
    )
    assert [(d.code, d.location.line) for d in diagnostics] == [("RG308", 15)]
    assert [e.kind for e in org.collections["model/clf"].events].count(EventKind.ALIAS_ADDED) == 2


def test_unlink_drops_the_versions_aliases_automatically() -> None:
    history = clf(
        """\
        - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}
        - {at: "2026-01-02T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v1"}
        - {at: "2026-01-03T00:00:00Z", user: ann, action: add_alias, collection: model/clf, version: v0,
           alias: staging}
        - {at: "2026-01-03T00:00:01Z", user: ann, action: add_alias, collection: model/clf, version: v0,
           alias: best}
        - {at: "2026-01-04T00:00:00Z", user: cy, action: unlink, collection: model/clf, version: v0,
           reason: bad data}
        """
    )
    unlink = [e for e in history.events if e.cause is ActionKind.UNLINK]
    assert summary(tuple(unlink)) == [
        ("unlinked", 0, None, None, False),
        ("alias_removed", 0, "best", None, True),
        ("alias_removed", 0, "staging", None, True),
    ]
    assert {(e.user, e.reason) for e in unlink} == {("cy", "bad data")}
    assert dict(history.current.aliases) == {"latest": 1}
    # the alias is free again: adding it later is an add, not a move
    again = clf(
        """\
        - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}
        - {at: "2026-01-02T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v1"}
        - {at: "2026-01-03T00:00:00Z", user: ann, action: add_alias, collection: model/clf, version: v0,
           alias: best}
        - {at: "2026-01-04T00:00:00Z", user: ann, action: unlink, collection: model/clf, version: v0}
        - {at: "2026-01-05T00:00:00Z", user: ann, action: add_alias, collection: model/clf, version: v1,
           alias: best}
        """
    )
    assert summary(again.events[-1:]) == [("alias_added", 1, "best", None, False)]


def test_remove_alias_removes_it_by_hand() -> None:
    history = clf(
        """\
        - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}
        - {at: "2026-01-02T00:00:00Z", user: ann, action: add_alias, collection: model/clf, version: v0,
           alias: best}
        - {at: "2026-01-03T00:00:00Z", user: ann, action: remove_alias, collection: model/clf,
           artifact: "m:v0", alias: best}
        """
    )
    assert summary(history.events[-1:]) == [("alias_removed", 0, "best", None, False)]
    assert history.events[-1].cause is ActionKind.REMOVE_ALIAS
    assert history.current.aliases_of(0) == ("latest",)


@pytest.mark.parametrize(
    ("action", "code"),
    [
        (
            '{at: "2026-02-01T00:00:00Z", user: a, action: unlink, collection: model/clf, version: v1}',
            "RG305",
        ),
        (
            '{at: "2026-02-01T00:00:00Z", user: a, action: unlink, collection: model/clf, version: v7}',
            "RG305",
        ),
        (
            '{at: "2026-02-01T00:00:00Z", user: a, action: unlink, collection: model/clf, artifact: "m:v3"}',
            "RG305",
        ),
        (
            '{at: "2026-02-01T00:00:00Z", user: a, action: add_alias, collection: model/clf, version: v1, '
            "alias: best}",
            "RG306",
        ),
        (
            '{at: "2026-02-01T00:00:00Z", user: a, action: remove_alias, collection: model/clf, version: v0, '
            "alias: best}",
            "RG307",
        ),
        (
            '{at: "2026-02-01T00:00:00Z", user: a, action: link, collection: model/clf, artifact: "m:v0"}',
            "RG302",
        ),
        (
            '{at: "2026-02-01T00:00:00Z", user: a, action: add_alias, collection: model/clf, version: v0, '
            'artifact: "m:v2", alias: best}',
            "RG312",
        ),
    ],
)
def test_invalid_actions_are_reported_and_leave_the_state_alone(action: str, code: str) -> None:
    # v0 = m:v0 linked, v1 = m:v1 linked then unlinked
    org, diagnostics = build(
        HEAD
        + """\
actions:
  - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}
  - {at: "2026-01-02T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v1"}
  - {at: "2026-01-03T00:00:00Z", user: ann, action: unlink, collection: model/clf, version: v1}
"""
        + f"  - {action}\n"
    )
    assert [(d.code, d.location.line) for d in diagnostics] == [(code, 15)]
    history = org.collections["model/clf"]
    assert history.last_event is not None
    assert history.last_event.at == t("2026-01-03T00:00:00Z")
    assert history.current.linked == (0,)
    assert dict(history.current.aliases) == {"latest": 0}


# ------------------------------------------------------------------------------ the past


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2025-12-31T23:59:59Z", None),  # before any event
        ("2026-01-01T00:00:00Z", None),  # linked, but production not set yet
        ("2026-02-09T23:59:59Z", None),
        ("2026-02-10T00:00:00Z", 0),  # exactly at the event: it has happened
        ("2026-02-19T23:59:59Z", 0),
        ("2026-02-20T00:00:00Z", 1),
        ("2026-03-01T00:00:00Z", 1),  # "which version held production on 2026-03-01?"
        ("2026-03-01T12:00:00+02:00", 1),  # another timezone, same instant rules
        ("2026-03-10T00:00:00Z", 0),  # the rollback
        ("2026-03-14T23:59:59Z", 0),
        ("2026-03-15T00:00:00Z", None),  # v0 unlinked: production went with it
        ("2027-01-01T00:00:00Z", None),
    ],
)
def test_holder_of_production_at(story: CollectionHistory, when: str, expected: int | None) -> None:
    holder = story.holder_of("production", t(when))
    assert (None if holder is None else holder.version) == expected
    if holder is not None:
        assert holder.artifact == ArtifactRef("m", expected)  # type: ignore[arg-type]
        assert holder.is_linked_at(t(when))


def test_state_at_gives_linked_versions_and_aliases(story: CollectionHistory) -> None:
    before = story.state_at(t("2025-06-01T00:00:00Z"))
    assert (before.linked, dict(before.aliases)) == ((), {})
    mar1 = story.state_at(t("2026-03-01T00:00:00Z"))
    assert mar1.at == t("2026-03-01T00:00:00Z")
    assert mar1.linked == (0, 1, 2)
    assert dict(mar1.aliases) == {"latest": 2, "production": 1}
    assert mar1.aliases_of(1) == ("production",)
    assert mar1.aliases_of(2) == ("latest",)
    mar7 = story.state_at(t("2026-03-07T00:00:00Z"))
    assert mar7.linked == (0, 1)
    assert mar7.aliases_of(1) == ("latest", "production")  # latest first
    assert story.state_at(None) == story.current
    assert story.current.linked == (1, 3)
    assert dict(story.current.aliases) == {"latest": 3}


def test_is_linked_at_matches_state_at(story: CollectionHistory) -> None:
    start = t("2025-12-31T00:00:00Z")
    for hours in range(0, 24 * 100, 7):
        when = start + timedelta(hours=hours)
        linked = tuple(cv.version for cv in story.versions if cv.is_linked_at(when))
        assert linked == story.state_at(when).linked, when
    assert [cv.is_linked_at() for cv in story.versions] == [False, True, False, True]


def test_history_helpers(story: CollectionHistory) -> None:
    assert story.full_name == "model/clf"
    assert story.version(3) is story.versions[3]
    assert story.version(4) is None
    assert story.version(-1) is None
    assert story.last_event is story.events[-1]
    assert [e.seq for e in story.events] == list(range(len(story.events)))
    assert [e.at for e in story.events] == sorted(e.at for e in story.events)
    assert clf("").last_event is None


# ------------------------------------------------------------------------------ ties


def test_ties_in_at_replay_in_file_order() -> None:
    history = clf(
        """\
        - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}
        - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v1"}
        - {at: "2026-01-01T00:00:00Z", user: ann, action: add_alias, collection: model/clf, version: v1,
           alias: best}
        - {at: "2026-01-01T01:00:00+01:00", user: ann, action: add_alias, collection: model/clf,
           version: v0, alias: best}
        """
    )
    assert [str(cv.artifact) for cv in history.versions] == ["m:v0", "m:v1"]
    assert summary(history.events[-2:]) == [
        ("alias_added", 1, "best", None, False),
        ("alias_moved", 0, "best", 1, False),
    ]
    assert history.current.holder("best") == 0


def test_ties_across_documents_and_files_keep_file_order(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        HEAD
        + """\
actions:
  - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}
  - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v1"}
---
actions:
  - {at: "2026-01-02T00:00:00Z", user: ann, action: add_alias, collection: model/clf, version: v0,
     alias: best}
"""
    )
    (tmp_path / "b.yaml").write_text(
        """\
actions:
  - {at: "2026-01-02T00:00:00Z", user: bob, action: add_alias, collection: model/clf, version: v1,
     alias: best}
"""
    )
    result = validate(load_paths([tmp_path]))
    assert result.diagnostics == []
    history = result.organisation.collections["model/clf"]
    assert history.current.holder("best") == 1
    assert history.events[-1].user == "bob"
    assert history.events[-1].previous_version == 0


# ------------------------------------------------------------------------------ warnings


def test_protected_alias_without_reason_is_a_warning_and_still_applied() -> None:
    org, diagnostics = build(
        HEAD
        + """\
actions:
  - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}
  - {at: "2026-01-02T00:00:00Z", user: ann, action: add_alias, collection: model/clf, version: v0,
     alias: production, reason: "  "}
"""
    )
    assert [(d.code, d.severity) for d in diagnostics] == [("RG313", Severity.WARNING)]
    assert org.collections["model/clf"].current.holder("production") == 0


def test_actions_on_another_collection_do_not_leak() -> None:
    text = (
        HEAD.replace(
            "  - {registry: model, name: clf, type: model}\n",
            "  - {registry: model, name: clf, type: model}\n"
            "  - {registry: dataset, name: splits, type: dataset}\n",
        )
        + """\
  - {name: d, version: v0, type: dataset}
actions:
  - {at: "2026-01-01T00:00:00Z", user: ann, action: link, collection: model/clf, artifact: "m:v0"}
  - {at: "2026-01-02T00:00:00Z", user: ann, action: link, collection: dataset/splits, artifact: "d:v0"}
"""
    )
    organisation = org_of(text)
    splits = organisation.collections["dataset/splits"]
    assert [(e.collection, e.version) for e in splits.events] == [("dataset/splits", 0)] * 2
    assert splits.current.holder("latest") == 0
    assert organisation.collections["model/clf"].current.holder("latest") == 0
    assert organisation.registries["dataset"].declared is False
    assert datetime(2026, 1, 2, tzinfo=UTC) == splits.versions[0].linked_at
