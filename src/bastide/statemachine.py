"""Workflows as data: a table of transitions, checked in one place.

Each transition names who may act (roles) and the audit action it records. `check`
validates the current state *and* the actor before anything changes; `to_mermaid`
draws the diagram that docs/ embed (a test fails when the docs are stale).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bastide.errors import TransitionNotAllowed


@dataclass(frozen=True)
class Actor:
    """Who acts: a nominative id and the roles it holds (identity comes from identity/)."""

    id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] | None = None  # an API token's subset of the roles' permissions; None: all of them


SYSTEM = Actor("system", frozenset({"system"}))


@dataclass(frozen=True)
class Transition:
    source: str
    action: str
    target: str
    roles: frozenset[str]
    audit_action: str


class Workflow:
    def __init__(self, name: str, initial: str, transitions: list[Transition]):
        self.name = name
        self.initial = initial
        self.transitions = transitions
        self._by_key = {(t.source, t.action): t for t in transitions}
        if len(self._by_key) != len(transitions):
            raise ValueError(f"workflow {name}: two transitions share a state and action")

    @property
    def states(self) -> set[str]:
        return {self.initial} | {t.source for t in self.transitions} | {t.target for t in self.transitions}

    def actions_from(self, state: str) -> list[str]:
        return sorted(a for (s, a) in self._by_key if s == state)

    def check(self, state: str, action: str, actor: Actor) -> Transition:
        transition = self._by_key.get((state, action))
        if transition is None:
            allowed = self.actions_from(state)
            raise TransitionNotAllowed(
                f"cannot {action} a {self.name} that is {state}; allowed: {', '.join(allowed) or 'nothing'}",
                details={"workflow": self.name, "state": state, "action": action, "allowed": allowed},
            )
        if not (actor.roles & transition.roles):
            raise TransitionNotAllowed(
                f"{actor.id} may not {action} a {self.name} (needs one of: {', '.join(sorted(transition.roles))})",
                details={"workflow": self.name, "action": action, "actor": actor.id},
                code="forbidden",
            )
        return transition

    def to_mermaid(self) -> str:
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        for t in self.transitions:
            lines.append(f"    {t.source} --> {t.target}: {t.action} ({', '.join(sorted(t.roles))})")
        return "\n".join(lines) + "\n"
