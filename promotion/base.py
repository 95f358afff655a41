"""What every target module shares: the request, the plan it prints, and the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from promotion.refs import ImageRef

ENVIRONMENTS = ("staging", "production")


class PromotionError(RuntimeError):
    """A promotion step failed; the message names the step. Raised after any rollback has run."""


@dataclass(frozen=True)
class Request:
    image: ImageRef
    environment: str
    dry_run: bool = False
    timeout_s: float = 600.0
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise ValueError(f"environment {self.environment!r} is not one of {', '.join(ENVIRONMENTS)}")


@dataclass
class Plan:
    """Ordered, human-readable steps plus any rendered documents (manifests, configs) they would apply."""

    target: str
    environment: str
    image: str
    steps: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"# plan: {self.target} -> {self.environment}", f"# image: {self.image}"]
        lines += [f"{i}. {step}" for i, step in enumerate(self.steps, 1)]
        if self.documents:
            lines.append("# --- rendered documents ---")
            lines += self.documents
        return "\n".join(lines)


@dataclass
class Outcome:
    target: str
    environment: str
    image: str
    succeeded: bool
    rolled_back: bool = False
    details: dict[str, Any] = field(default_factory=dict)


class Target(Protocol):
    """A target module exposes these two functions."""

    def plan(self, request: Request) -> Plan: ...

    def promote(self, request: Request) -> Outcome: ...
