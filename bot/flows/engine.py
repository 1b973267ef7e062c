"""Running a flow: from a step, through automatic steps, to the next question or the end.

The engine is pure: it reads the flows and texts, and returns the messages to send, the new
state and any request for a person. The conversation service stores the state and acts.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from jinja2.sandbox import SandboxedEnvironment

from bot.content.i18n import Catalog
from bot.dialogue.messages import fit_label, postback_action, text_message
from bot.flows.functions import FUNCTIONS
from bot.flows.inputs import normalise, parse_date, parse_number, parse_yes_no
from bot.flows.model import Flow, FlowSet, Step

MAX_AUTOMATIC_STEPS = 50
_EXPRESSIONS = SandboxedEnvironment()


class FlowLoopError(Exception):
    """A flow ran more than MAX_AUTOMATIC_STEPS steps without asking anything (a loop in the YAML)."""


@dataclass
class FlowState:
    flow_id: str | None = None
    step_id: str | None = None           # the question waiting for an answer
    variables: dict = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.flow_id and self.step_id)


@dataclass
class FlowResult:
    messages: list[dict]
    state: FlowState
    handoff: dict | None = None          # {"topic": ..., "priority": ...}
    command: str | None = None           # an option asked for a global command
    variables: dict | None = None        # the flow's variables, for a command that needs them (reminders)


def choice_data(flow_id: str, step_id: str, option_id: str) -> str:
    return f"f:{flow_id}:{step_id}:{option_id}"


class FlowEngine:
    def __init__(self, flows: FlowSet, catalog: Catalog, locale: str, today: date,
                 render_resources: Callable[[list[str], str], list[dict]] = lambda ids, locale: []):
        self.flows = flows
        self.catalog = catalog
        self.locale = locale
        self.today = today
        self.render_resources = render_resources
        self.visited: set[tuple[str, str]] = set()      # (flow, step) run by this engine: tests, debugging

    # ---- entry points -------------------------------------------------------------------
    def start(self, flow_id: str, step_id: str | None = None, variables: dict | None = None) -> FlowResult:
        flow = self.flows.flow(flow_id)
        return self._run(flow, step_id or flow.start, dict(variables or {}))

    def answer_text(self, state: FlowState, text: str) -> FlowResult | None:
        """The user typed while a question waits. None: not an answer to it (let others try)."""
        step = self.flows.step(state.flow_id, state.step_id) if state.active else None
        if step is None:
            return None
        if step.type == "choice":
            option = self._option_by_label(step, text)
            return self._take_option(state, step, option) if option else None
        if step.type != "ask":
            return None
        value = self._parse(step, text)
        if value is None:
            return self._reask(state, step)
        return self._accept(state, step, value)

    def tap(self, state: FlowState, flow_id: str, step_id: str, option_id: str,
            params: dict | None = None) -> FlowResult | None:
        """A button of a choice or question was tapped (it may be from an earlier message)."""
        step = self.flows.step(flow_id, step_id)
        if step is None:
            return None
        here = FlowState(flow_id, step_id, dict(state.variables) if state.flow_id == flow_id else {})
        if step.type == "ask":
            value = self._tapped_value(step, option_id, params or {})
            return self._accept(here, step, value) if value is not None else self._reask(here, step)
        option = next((o for o in step.get("options", []) if o["id"] == option_id), None)
        return self._take_option(here, step, option) if option else None

    def reprompt(self, state: FlowState) -> FlowResult | None:
        """Ask the waiting question again (after an idle pause, or 'continue')."""
        step = self.flows.step(state.flow_id, state.step_id) if state.active else None
        if step is None:
            return None
        return FlowResult([self._question(self.flows.flow(state.flow_id), step, state.variables)], state)

    # ---- running --------------------------------------------------------------------------
    def _run(self, flow: Flow, step_id: str, variables: dict, messages: list[dict] | None = None) -> FlowResult:
        messages = messages if messages is not None else []
        for _ in range(MAX_AUTOMATIC_STEPS):
            step = flow.steps[step_id]
            self.visited.add((flow.id, step.id))
            if step.type in {"choice", "ask"}:
                messages.append(self._question(flow, step, variables))
                return FlowResult(messages, FlowState(flow.id, step.id, variables))
            if step.type == "goto":
                flow = self.flows.flow(step.get("flow"))
                step_id = step.get("step") or flow.start
                continue
            outcome = self._automatic(step, variables, messages)
            if isinstance(outcome, FlowResult):
                return outcome
            if outcome is None:
                return FlowResult(messages, FlowState())
            step_id = outcome
        raise FlowLoopError(f"flow '{flow.id}' ran {MAX_AUTOMATIC_STEPS} steps without a question: check for a loop")

    def _automatic(self, step: Step, variables: dict, messages: list[dict]):
        """Run a step that needs no answer; return the next step id, None at the end, or a result."""
        kind = step.type
        if kind == "message":
            messages.append(text_message(self._message_text(step, variables)))
        elif kind == "set":
            variables.update({name: self._value(value, variables) for name, value in step.get("values").items()})
        elif kind == "branch":
            return next((case["next"] for case in step.get("cases") if self._test(case["when"], variables)),
                        step.get("default"))
        elif kind == "compute":
            variables.update(FUNCTIONS[step.get("function")](variables[step.get("input")], self.today))
        elif kind == "resources":
            if step.get("text"):
                messages.append(text_message(self._text(step.get("text"), variables)))
            messages.extend(self.render_resources(list(step.get("ids")), self.locale))
        elif kind == "handoff":
            if step.get("text"):
                messages.append(text_message(self._text(step.get("text"), variables)))
            return FlowResult(messages, FlowState(), handoff={"topic": step.get("topic"),
                                                              "priority": step.get("priority")})
        elif kind == "end":
            if step.get("text"):
                messages.append(text_message(self._text(step.get("text"), variables)))
            return None
        return step.get("next")

    # ---- questions and answers -------------------------------------------------------------
    def _question(self, flow: Flow, step: Step, variables: dict) -> dict:
        text = self._text(step.get("text"), variables)
        if step.type == "choice":
            actions = [postback_action(self._text(o["label"], variables), choice_data(flow.id, step.id, o["id"]))
                       for o in step.get("options")]
            if step.get("style") == "buttons":
                return buttons_bubble(text, actions)
            return text_message(text, quick_replies=actions)
        return text_message(text, quick_replies=self._ask_actions(flow, step))

    def _ask_actions(self, flow: Flow, step: Step) -> list[dict] | None:
        kind = step.get("input")
        if kind == "date":
            return [{"type": "datetimepicker", "label": fit_label(self._text("input.pick_date", {})),
                     "data": choice_data(flow.id, step.id, "@date"), "mode": "date"}]
        if kind == "yes_no":
            return [postback_action(self._text("input.answer_yes", {}), choice_data(flow.id, step.id, "@yes")),
                    postback_action(self._text("input.answer_no", {}), choice_data(flow.id, step.id, "@no"))]
        return None

    def _parse(self, step: Step, text: str):
        kind = step.get("input")
        if kind == "date":
            value = parse_date(text, self.today)
            return value.isoformat() if value else None
        if kind == "number":
            number = parse_number(text)
            low, high = step.get("min"), step.get("max")
            if number is None or (low is not None and number < low) or (high is not None and number > high):
                return None
            return number
        if kind == "yes_no":
            return parse_yes_no(text, self._words("input.yes_words"), self._words("input.no_words"))
        cleaned = text.strip()
        return cleaned or None

    def _tapped_value(self, step: Step, option_id: str, params: dict):
        if option_id == "@date":
            return params.get("date")
        if option_id in {"@yes", "@no"}:
            return option_id == "@yes"
        return None

    def _accept(self, state: FlowState, step: Step, value) -> FlowResult:
        variables = dict(state.variables)
        variables[step.get("save_as")] = value
        return self._run(self.flows.flow(state.flow_id), step.get("next"), variables)

    def _reask(self, state: FlowState, step: Step) -> FlowResult:
        invalid_key = step.get("invalid") or f"input.invalid_{step.get('input')}"
        flow = self.flows.flow(state.flow_id)
        return FlowResult([text_message(self._text(invalid_key, state.variables)),
                           self._question(flow, step, state.variables)], state)

    def _take_option(self, state: FlowState, step: Step, option: dict) -> FlowResult:
        variables = dict(state.variables)
        if step.get("save_as"):
            variables[step.get("save_as")] = option["id"]
        if option.get("command"):
            return FlowResult([], FlowState(), command=option["command"], variables=variables)
        if option.get("flow"):
            return self.start(option["flow"])
        return self._run(self.flows.flow(state.flow_id), option["next"], variables)

    def _option_by_label(self, step: Step, text: str) -> dict | None:
        typed = normalise(text).casefold()
        return next((o for o in step.get("options") if normalise(self._text(o["label"], {})).casefold() == typed), None)

    # ---- texts and expressions ---------------------------------------------------------------
    def _text(self, key: str, variables: dict) -> str:
        return self.catalog.text(self.locale, key, **variables, today=self.today.isoformat())

    def _words(self, key: str) -> list[str]:
        return self.catalog.words(self.locale, key) + self.catalog.words("en", key)

    def _message_text(self, step: Step, variables: dict) -> str:
        parts = [self._text(step.get("text"), variables)]
        for item in variables.get(step.get("each"), []) if step.get("each") else []:
            status = ""
            if step.get("status_text"):
                status = self._text(f"{step.get('status_text')}.{item['status']}", {**variables, **item})
            # Computed items may add whole sentences by key (a deadline moved past closed days).
            notes = [self._text(key, {**variables, **item}) for key in item.get("notes", ())]
            status = join_sentences([status, *notes])
            parts.append(self._text(f"{step.get('item_text')}.{item['key']}", {**variables, **item, "status": status}))
        return "\n\n".join(part for part in parts if part)

    def _value(self, value, variables: dict):
        if isinstance(value, str) and value.startswith("="):
            return _EXPRESSIONS.compile_expression(value[1:])(**variables)
        return value

    def _test(self, expression: str, variables: dict) -> bool:
        return bool(_EXPRESSIONS.compile_expression(expression)(**variables, today=self.today.isoformat()))


def join_sentences(parts: list[str]) -> str:
    """Sentences one after another: a space in most scripts, none after a CJK full stop."""
    text = ""
    for part in filter(None, parts):
        text += part if not text or text.endswith(("。", "！", "？")) else " " + part
    return text


def buttons_bubble(text: str, actions: list[dict]) -> dict:
    """A Flex bubble with one button per line: easier to read than quick replies for long lists."""
    buttons = [{"type": "button", "style": "secondary", "height": "sm", "margin": "sm",
                "action": {**a, "label": a["label"][:40]}} for a in actions]
    return {
        "type": "flex", "altText": text[:400],
        "contents": {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [
            {"type": "text", "text": text, "wrap": True}, *buttons]}},
    }
