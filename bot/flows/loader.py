"""Loading flows/*.yaml and checking them: schema, references, reachability, texts, LINE limits.

Every problem reads `file:line: what is wrong and how to fix it`.
"""
from __future__ import annotations

import json
from collections.abc import Set as AbstractSet
from pathlib import Path

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from jsonschema import Draft202012Validator

from bot import LOCALES
from bot.content.adminmsg import closest, did_you_mean, msg
from bot.content.i18n import Catalog
from bot.content.yamlfile import ProblemsError, YamlFileError, load_yaml_with_lines
from bot.dialogue.messages import MAX_LABEL_CHARS
from bot.flows.model import Flow, FlowSet, Step
from bot.resources.loader import drop_typo_twins

SCHEMA_FILE = "schema.json"
_EXPRESSIONS = SandboxedEnvironment()


class FlowError(ProblemsError):
    pass


# Not flows: the rich menu (bot/richmenu/model.py) and the reminder schedule (bot/reminders/).
NOT_FLOWS = {"richmenu.yaml", "reminders.yaml"}


def flow_files(flows_dir: Path) -> list[Path]:
    return sorted(p for p in flows_dir.glob("*.yaml") if p.name not in NOT_FLOWS)


def load_flows(flows_dir: Path, catalog: Catalog | None = None, index=None) -> FlowSet:
    schema = Draft202012Validator(json.loads((flows_dir / SCHEMA_FILE).read_text(encoding="utf-8")))
    flows, problems = {}, []
    lines_by_flow: dict[str, dict] = {}
    broken: set[str] = set()        # flows whose file has an error: already reported, not "missing"
    for path in flow_files(flows_dir):
        flow, lines, file_problems = _load_one(path, schema)
        problems += file_problems
        if flow:
            flows[flow.id] = flow
            lines_by_flow[flow.id] = lines
        else:
            broken.add(path.stem)
    flow_set = FlowSet(flows)
    for flow in flows.values():
        problems += _check_references(flow, flow_set, lines_by_flow[flow.id], catalog, index, broken)
    if problems:
        raise FlowError(problems)
    return flow_set


def _load_one(path: Path, schema: Draft202012Validator) -> tuple[Flow | None, dict, list[str]]:
    try:
        data, lines = load_yaml_with_lines(path)
    except YamlFileError as exc:
        return None, {}, [str(exc)]
    errors = drop_typo_twins(schema.iter_errors(data if data is not None else {}))
    problems = [_schema_problem(path, lines, error) for error in errors]
    if problems:
        return None, lines, problems
    steps = {sid: Step(sid, s["type"], s, lines.get(f"steps.{sid}", 1)) for sid, s in data["steps"].items()}
    triggers = data.get("triggers") or {}
    flow = Flow(id=path.stem, path=path, start=data["start"], steps=steps,
                postback_triggers=tuple(triggers.get("postback", [])), keywords_key=triggers.get("keywords"))
    return flow, lines, []


def _schema_problem(path: Path, lines: dict, error) -> str:
    dotted = ""
    for part in error.absolute_path:
        dotted = f"{dotted}[{part}]" if isinstance(part, int) else (f"{dotted}.{part}" if dotted else str(part))
    line = lines.get(dotted) or _nearest_line(lines, dotted)
    place = dict(path=path, line=line, where=dotted or msg("flow.the_file"))
    if error.validator == "required":
        return msg("flow.schema.required", field=_quoted_name(error.message), **place)
    if error.validator == "additionalProperties":
        allowed = list((error.schema.get("properties") or {}).keys())
        extra = [key for key in error.instance if key not in allowed]
        field = extra[0] if extra else _quoted_name(error.message)
        line = lines.get(f"{dotted}.{field}" if dotted else field, line)
        if isinstance(error.instance.get(field), dict) and "type" in error.instance[field]:
            # a whole step under another one: indented too far, not a misspelt field
            return msg("flow.schema.nested_step", field=field, **{**place, "line": line})
        return msg("flow.schema.unknown_field", field=field, hint=did_you_mean(field, allowed),
                   **{**place, "line": line})
    if error.validator == "enum":
        allowed = [str(v) for v in error.validator_value]
        return msg("flow.schema.enum", value=error.instance, allowed=", ".join(allowed),
                   hint=did_you_mean(error.instance, allowed), **place)
    return msg("flow.schema.other", error=error.message, **place)


def _quoted_name(message: str) -> str:
    return message.split("'")[1] if "'" in message else message


def _nearest_line(lines: dict, dotted: str) -> int:
    while dotted:
        dotted = dotted.rsplit(".", 1)[0] if "." in dotted else ""
        if dotted in lines:
            return lines[dotted]
    return 1


def _check_references(flow: Flow, flows: FlowSet, lines: dict, catalog: Catalog | None, index,
                      broken: AbstractSet[str] = frozenset()) -> list[str]:
    problems: list[str] = []
    steps = list(flow.steps)

    def line_of(step: Step, subpath: str = "") -> int:
        return lines.get(f"steps.{step.id}.{subpath}" if subpath else f"steps.{step.id}", step.line)

    if flow.start not in flow.steps:
        problems.append(msg("flow.start_missing", path=flow.path, line=lines.get("start", 1), start=flow.start,
                            hint=did_you_mean(flow.start, steps), steps=", ".join(steps)))
    for step in flow.steps.values():
        for subpath, target in _target_paths(step):
            if target not in flow.steps:
                problems.append(msg("flow.unknown_target", path=flow.path, line=line_of(step, subpath), step=step.id,
                                    target=target, hint=did_you_mean(target, steps)))
        for number, option in enumerate(step.get("options", [])):
            where = dict(path=flow.path, line=line_of(step, f"options[{number}]"), option=option["id"])
            if option.get("flow") and option["flow"] not in flows.flows and option["flow"] not in broken:
                problems.append(msg("flow.option_unknown_flow", flow=option["flow"],
                                    hint=did_you_mean(option["flow"], flows.flows), **where))
            if not (option.get("next") or option.get("flow") or option.get("command")):
                problems.append(msg("flow.option_no_target", **where))
        if step.type == "goto":
            problems.extend(_goto_problems(flow, flows, step, line_of, broken))
        for case in step.get("cases", []):
            problems.extend(_expression_problem(flow, step, case["when"]))
        if step.type == "resources" and index is not None:
            for number, entry_id in enumerate(step.get("ids", [])):
                if not index.has(entry_id):
                    problems.append(msg("flow.unknown_resource", path=flow.path, line=line_of(step, f"ids[{number}]"),
                                        id=entry_id, hint=did_you_mean(entry_id, index.ids())))
        if catalog is not None:
            problems.extend(_text_problems(flow, step, catalog, line_of))
    problems.extend(_unreachable(flow))
    if catalog is not None and flow.keywords_key and not catalog.has("en", flow.keywords_key):
        problems.append(msg("flow.unknown_keywords", path=flow.path, line=lines.get("triggers.keywords", 1),
                            key=flow.keywords_key, hint=did_you_mean(flow.keywords_key, catalog.texts.get("en", {}))))
    return problems


def _target_paths(step: Step) -> list[tuple[str, str]]:
    """(where in the step, target step id) of every `next` and `default`, to point at the very line."""
    found = [(name, step.get(name)) for name in ("next", "default")]
    found += [(f"cases[{i}].next", case.get("next")) for i, case in enumerate(step.get("cases", []))]
    found += [(f"options[{i}].next", option.get("next")) for i, option in enumerate(step.get("options", []))]
    return [(where, target) for where, target in found if target]


def _goto_problems(flow: Flow, flows: FlowSet, step: Step, line_of, broken: AbstractSet[str]) -> list[str]:
    flow_id, step_id = step.get("flow"), step.get("step")
    target = flows.get(flow_id)
    if target is None and flow_id in broken:
        return []                                # that file's own error is reported; nothing more to say
    if target is None:
        return [msg("flow.goto_unknown_flow", path=flow.path, line=line_of(step, "flow"), flow=flow_id,
                    hint=did_you_mean(flow_id, flows.flows))]
    if step_id and step_id not in target.steps:
        return [msg("flow.goto_unknown_step", path=flow.path, line=line_of(step, "step"), step=step_id,
                    flow=target.id, hint=did_you_mean(step_id, target.steps))]
    return []


def _expression_problem(flow: Flow, step: Step, expression: str) -> list[str]:
    try:
        _EXPRESSIONS.compile_expression(expression)
    except TemplateSyntaxError as exc:
        return [msg("flow.condition_unreadable", path=flow.path, line=step.line, expression=expression,
                    error=exc.message)]
    return []


def step_text_keys(step: Step) -> list[str]:
    keys = [step.get(name) for name in ("text", "invalid")]
    keys += [option["label"] for option in step.get("options", [])]
    return [key for key in keys if key]


def _text_problems(flow: Flow, step: Step, catalog: Catalog, line_of) -> list[str]:
    problems = []
    english = catalog.texts.get("en", {})
    # A key missing in English breaks the flow; one missing in another locale falls back to
    # English at run time and is reported by `flows check` (bot/content/checks.py).
    for key in step_text_keys(step):
        if not catalog.has("en", key):
            problems.append(msg("flow.unknown_text", path=flow.path, line=_key_line(step, key, line_of), key=key,
                                hint=did_you_mean(key, english)))
    for prefix in (step.get("item_text"), step.get("status_text")):
        if prefix and not any(k.startswith(prefix + ".") for k in english):
            problems.append(msg("flow.no_texts_under", path=flow.path, line=step.line, prefix=prefix))
    for option in step.get("options", []):
        for locale in LOCALES:
            label = catalog.texts.get(locale, {}).get(option["label"])
            if isinstance(label, str) and len(label) > MAX_LABEL_CHARS:
                ref = catalog.refs.get(locale, {}).get(option["label"])
                where = f"{ref.path}:{ref.line}" if ref else f"locales/{locale}.yaml"
                problems.append(msg("flow.label_too_long", where=where, key=option["label"], length=len(label),
                                    limit=MAX_LABEL_CHARS))
    return problems


def _key_line(step: Step, key: str, line_of) -> int:
    for name in ("text", "invalid"):
        if step.get(name) == key:
            return line_of(step, name)
    for number, option in enumerate(step.get("options", [])):
        if option.get("label") == key:
            return line_of(step, f"options[{number}].label")
    return step.line


def _unreachable(flow: Flow) -> list[str]:
    """Steps no path reaches. A link to a step that does not exist is its own error: its intended
    target (the closest step id) counts as reached, so a typo in `next:` is reported once, not
    again as every step after it being unreachable."""
    seen, todo = set(), [flow.start if flow.start in flow.steps else closest(flow.start, flow.steps)]
    while todo:
        step_id = todo.pop()
        if step_id is None or step_id in seen:
            continue
        if step_id not in flow.steps:
            todo.append(closest(step_id, flow.steps))
            continue
        seen.add(step_id)
        todo.extend(flow.steps[step_id].targets())
    if any(target not in flow.steps for step in flow.steps.values() for target in step.targets()) \
            and any(closest(t, flow.steps) is None for s in flow.steps.values() for t in s.targets()
                    if t not in flow.steps):
        return []                # a broken link with no guess: which steps it meant to reach is unknown
    return [msg("flow.unreachable", path=flow.path, line=step.line, step=step.id, start=flow.start)
            for step in flow.steps.values() if step.id not in seen]
