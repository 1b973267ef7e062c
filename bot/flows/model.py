"""Flows as loaded from YAML: plain data with the line of every step, for precise errors."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Step:
    id: str
    type: str
    data: dict
    line: int

    def get(self, name: str, default=None):
        return self.data.get(name, default)

    def targets(self) -> list[str]:
        """Steps of the same flow this step can lead to (for the reachability check)."""
        found = [self.data.get("next"), self.data.get("default")]
        found += [case.get("next") for case in self.data.get("cases", [])]
        found += [option.get("next") for option in self.data.get("options", [])]
        return [target for target in found if target]


@dataclass(frozen=True)
class Flow:
    id: str
    path: Path
    start: str
    steps: dict[str, Step]
    postback_triggers: tuple[str, ...] = ()
    keywords_key: str | None = None


@dataclass(frozen=True)
class FlowSet:
    flows: dict[str, Flow] = field(default_factory=dict)

    def get(self, flow_id: str | None) -> Flow | None:
        return self.flows.get(flow_id) if flow_id else None

    def flow(self, flow_id: str | None) -> Flow:
        """A flow the checks guarantee exists (a start, a goto, a running state's flow)."""
        flow = self.get(flow_id)
        if flow is None:
            raise KeyError(f"no flow {flow_id!r}")
        return flow

    def step(self, flow_id: str | None, step_id: str | None) -> Step | None:
        flow = self.get(flow_id)
        return flow.steps.get(step_id) if flow and step_id else None

    def for_postback(self, data: str) -> Flow | None:
        return next((f for f in self.flows.values() if data in f.postback_triggers), None)
