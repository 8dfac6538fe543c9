"""Replay the action log, collection by collection, into each collection's versions and history.

The rules are those of the W&B Registry: versions are numbered in link order and never reused, `latest`
follows the newest linked version by itself, an alias is held by one version at a time (adding it to
another version moves it), and unlinking a version drops its aliases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from reportgen.diagnostics import Location, Reporter
from reportgen.fields import did_you_mean, near_versions
from reportgen.model import (
    Action,
    ActionKind,
    ArtifactRef,
    ArtifactVersion,
    AuditEvent,
    Collection,
    CollectionHistory,
    CollectionVersion,
    EventKind,
    Registry,
)
from reportgen.spec import LATEST, format_utc


def replay(
    actions: Sequence[Action],
    collections: Mapping[str, Collection],
    registries: Mapping[str, Registry],
    artifacts: Mapping[ArtifactRef, ArtifactVersion],
    reporter: Reporter,
    places: Sequence[Mapping[str, Location]],
) -> dict[str, CollectionHistory]:
    """Return every collection's history after replaying ``actions`` (already in replay order).

    ``places``: where each action's fields were written, in the same order, for the diagnostics (the
    model's actions do not keep them).
    """
    states = {
        name: _Replay(c, registries[c.registry].protected_aliases, artifacts, reporter)
        for name, c in collections.items()
    }
    for action, fields in zip(actions, places, strict=True):
        state = states.get(action.collection)
        if state is None:
            reporter.report(
                "RG208",
                f"collection {action.collection!r} is not declared"
                f"{did_you_mean(action.collection, collections)}",
                fields.get("collection", action.location),
            )
            continue
        state.apply(action, fields)
    return {name: state.history() for name, state in states.items()}


@dataclass
class _Replay:
    """The mutable state of one collection while its actions are replayed."""

    collection: Collection
    protected: tuple[str, ...]
    artifacts: Mapping[ArtifactRef, ArtifactVersion]
    reporter: Reporter
    versions: list[CollectionVersion] = field(default_factory=list)
    linked: dict[int, None] = field(default_factory=dict)
    linked_refs: dict[ArtifactRef, int] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    events: list[AuditEvent] = field(default_factory=list)
    fields: Mapping[str, Location] = field(default_factory=dict)  # where the action in hand wrote them

    @property
    def name(self) -> str:
        return self.collection.full_name

    def history(self) -> CollectionHistory:
        return CollectionHistory(self.collection, tuple(self.versions), tuple(self.events))

    def error(self, code: str, message: str, action: Action, field: str | None = None) -> None:
        """Report a problem at the field at fault, or at the action when no one field is."""
        self.reporter.report(code, message, self.where(action, field) if field else action.location)

    def where(self, action: Action, field: str) -> Location:
        """Return where the action in hand wrote ``field``, or the action's own place."""
        return self.fields.get(field, action.location)

    def apply(self, action: Action, fields: Mapping[str, Location]) -> None:
        self.fields = fields
        _HANDLERS[action.kind](self, action)

    def emit(
        self,
        action: Action,
        kind: EventKind,
        version: int,
        *,
        alias: str | None = None,
        previous: int | None = None,
        automatic: bool = False,
    ) -> None:
        self.events.append(
            AuditEvent(
                seq=len(self.events),
                at=action.at,
                user=action.user,
                kind=kind,
                collection=self.name,
                version=version,
                artifact=self.versions[version].artifact,
                alias=alias,
                previous_version=previous,
                reason=action.reason,
                automatic=automatic,
                cause=action.kind,
                location=action.location,
            )
        )

    def set_alias(self, action: Action, alias: str, version: int, *, automatic: bool) -> None:
        previous = self.aliases.get(alias)
        kind = EventKind.ALIAS_ADDED if previous is None else EventKind.ALIAS_MOVED
        self.aliases[alias] = version
        self.emit(action, kind, version, alias=alias, previous=previous, automatic=automatic)

    def drop_alias(self, action: Action, alias: str, *, automatic: bool) -> None:
        version = self.aliases.pop(alias)
        self.emit(action, EventKind.ALIAS_REMOVED, version, alias=alias, automatic=automatic)

    # -- the four actions ------------------------------------------------------------------------

    def link(self, action: Action) -> None:
        if action.alias is not None:
            self.error(
                "RG310",
                "alias is only for add_alias and remove_alias; add the alias "
                "with an add_alias action after the link",
                action,
                "alias",
            )
        ref = action.artifact
        if ref is None:
            self.error("RG303", f"link into {self.name} must name the artifact version to link", action)
            return
        artifact = self.artifacts.get(ref)
        if artifact is None:
            self.error(
                "RG205",
                f"artifact: {ref} is not a declared artifact version{near_versions(ref, self.artifacts)}",
                action,
                "artifact",
            )
            return
        if artifact.type != self.collection.type:
            self.error(
                "RG301",
                f"cannot link {ref} of type {artifact.type!r} into {self.name}, "
                f"which accepts type {self.collection.type!r}",
                action,
                "artifact",
            )
            return
        current = self.linked_version_of(ref)
        if current is not None:
            self.error("RG302", f"{ref} is already linked to {self.name} as v{current}", action)
            return
        number = len(self.versions)
        if action.version is not None and action.version != number:
            self.error(
                "RG304",
                f"link gives version v{action.version}, but the next version of "
                f"{self.name} is v{number} (versions are numbered in link order)",
                action,
                "version",
            )
        if artifact.is_deleted:
            self.reporter.report(
                "RG314", f"{ref} is deleted but is linked into {self.name}", self.where(action, "artifact")
            )
        self.check_not_before_creation(action, artifact)
        self.versions.append(CollectionVersion(self.name, number, ref, action.at, action.user))
        self.linked[number] = None
        self.linked_refs[ref] = number
        self.emit(action, EventKind.LINKED, number)
        self.set_alias(action, LATEST, number, automatic=True)

    def unlink(self, action: Action) -> None:
        if action.alias is not None:
            self.error(
                "RG310",
                "alias is only for add_alias and remove_alias; unlinking a "
                "version drops its aliases by itself",
                action,
                "alias",
            )
        number = self.target(action, "RG305")
        if number is None:
            return
        del self.linked[number]
        del self.linked_refs[self.versions[number].artifact]
        self.versions[number] = replace(self.versions[number], unlinked_at=action.at, unlinked_by=action.user)
        self.emit(action, EventKind.UNLINKED, number)
        for alias in sorted(a for a, v in self.aliases.items() if v == number and a != LATEST):
            self.drop_alias(action, alias, automatic=True)
        if self.aliases.get(LATEST) == number:
            if self.linked:
                self.set_alias(action, LATEST, max(self.linked), automatic=True)
            else:
                self.drop_alias(action, LATEST, automatic=True)

    def add_alias(self, action: Action) -> None:
        alias = self.alias_of(action)
        number = self.target(action, "RG306")
        if alias is None or number is None:
            return
        if self.aliases.get(alias) == number:
            self.error("RG308", f"v{number} of {self.name} already holds alias {alias!r}", action)
            return
        self.check_reason(action, alias)
        self.set_alias(action, alias, number, automatic=False)

    def remove_alias(self, action: Action) -> None:
        alias = self.alias_of(action)
        number = self.target(action, "RG306")
        if alias is None or number is None:
            return
        holder = self.aliases.get(alias)
        if holder != number:
            held = "no version holds it" if holder is None else f"v{holder} holds it"
            self.error("RG307", f"v{number} of {self.name} does not hold alias {alias!r} ({held})", action)
            return
        self.check_reason(action, alias)
        self.drop_alias(action, alias, automatic=False)

    # -- checks shared by the actions ------------------------------------------------------------

    def alias_of(self, action: Action) -> str | None:
        if action.alias is None:
            self.error("RG310", f"{action.kind} needs an alias", action)
            return None
        if action.alias == LATEST:
            self.error(
                "RG309",
                f"`{LATEST}` is managed automatically: it follows the newest "
                "linked version and cannot be set or removed by hand",
                action,
                "alias",
            )
            return None
        return action.alias

    def linked_version_of(self, ref: ArtifactRef) -> int | None:
        return self.linked_refs.get(ref)

    def target(self, action: Action, not_linked_code: str) -> int | None:
        """Return the linked collection version an action names, reporting why there is none."""
        ref, number = action.artifact, action.version
        if ref is None and number is None:
            self.error(
                "RG311",
                f"{action.kind} must name its target with artifact (name:vN) or version (vK)",
                action,
            )
            return None
        if number is not None:
            if number >= len(self.versions):
                self.error(
                    not_linked_code,
                    f"{self.name} has no version v{number} (it has {len(self.versions)} so far)",
                    action,
                )
                return None
            if ref is not None and self.versions[number].artifact != ref:
                self.error(
                    "RG312",
                    f"v{number} of {self.name} is {self.versions[number].artifact}, not {ref}",
                    action,
                )
                return None
        elif ref is not None:
            if ref not in self.artifacts:
                self.error(
                    "RG205",
                    f"artifact: {ref} is not a declared artifact version{near_versions(ref, self.artifacts)}",
                    action,
                    "artifact",
                )
                return None
            number = self.linked_version_of(ref)
            if number is None:
                self.error(not_linked_code, f"{ref} is not linked to {self.name}", action)
                return None
        assert number is not None
        if number not in self.linked:
            unlinked = self.versions[number].unlinked_at
            since = f" (unlinked at {format_utc(unlinked)})" if unlinked else ""
            self.error(not_linked_code, f"v{number} of {self.name} is not linked{since}", action)
            return None
        return number

    def check_reason(self, action: Action, alias: str) -> None:
        if alias in self.protected and not action.reason.strip():
            self.reporter.report(
                "RG313",
                f"protected alias {alias!r} of {self.name} changed without a reason",
                action.location,
            )

    def check_not_before_creation(self, action: Action, artifact: ArtifactVersion) -> None:
        if artifact.created_at is not None and action.at < artifact.created_at:
            self.reporter.report(
                "RG315",
                f"{artifact.ref} is linked at {format_utc(action.at)}, before it was created "
                f"({format_utc(artifact.created_at)})",
                action.location,
            )


_HANDLERS = {
    ActionKind.LINK: _Replay.link,
    ActionKind.UNLINK: _Replay.unlink,
    ActionKind.ADD_ALIAS: _Replay.add_alias,
    ActionKind.REMOVE_ALIAS: _Replay.remove_alias,
}
