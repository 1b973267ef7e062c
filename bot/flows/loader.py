"""Loading flows/*.yaml and checking them: schema, references, reachability, texts, LINE limits.

Every problem reads `file:line: what is wrong and how to fix it`.
"""
from __future__ import annotations

import json
from pathlib import Path

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from jsonschema import Draft202012Validator

from bot import LOCALES
from bot.flows.model import Flow, FlowSet, Step
from bot.i18n import Catalog
from bot.messages import MAX_LABEL_CHARS
from bot.yamlfile import ProblemsError, YamlFileError, load_yaml_with_lines

SCHEMA_FILE = "schema.json"
_EXPRESSIONS = SandboxedEnvironment()


class FlowError(ProblemsError):
    pass


NOT_FLOWS = {"richmenu.yaml"}       # the rich menu lives beside the flows (bot/richmenu/model.py)


def flow_files(flows_dir: Path) -> list[Path]:
    return sorted(p for p in flows_dir.glob("*.yaml") if p.name not in NOT_FLOWS)


def load_flows(flows_dir: Path, catalog: Catalog | None = None, index=None) -> FlowSet:
    schema = Draft202012Validator(json.loads((flows_dir / SCHEMA_FILE).read_text(encoding="utf-8")))
    flows, problems = {}, []
    lines_by_flow: dict[str, dict] = {}
    for path in flow_files(flows_dir):
        flow, lines, file_problems = _load_one(path, schema)
        problems += file_problems
        if flow:
            flows[flow.id] = flow
            lines_by_flow[flow.id] = lines
    flow_set = FlowSet(flows)
    for flow in flows.values():
        problems += _check_references(flow, flow_set, lines_by_flow[flow.id], catalog, index)
    if problems:
        raise FlowError(problems)
    return flow_set


def _load_one(path: Path, schema: Draft202012Validator) -> tuple[Flow | None, dict, list[str]]:
    try:
        data, lines = load_yaml_with_lines(path)
    except YamlFileError as exc:
        return None, {}, [str(exc)]
    problems = [_schema_problem(path, lines, error) for error in schema.iter_errors(data if data is not None else {})]
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
    where = dotted or "the file"
    return f"{path}:{line}: {where}: {error.message}. See flows/README.md for the fields of each step type"


def _nearest_line(lines: dict, dotted: str) -> int:
    while dotted:
        dotted = dotted.rsplit(".", 1)[0] if "." in dotted else ""
        if dotted in lines:
            return lines[dotted]
    return 1


def _check_references(flow: Flow, flows: FlowSet, lines: dict, catalog: Catalog | None, index) -> list[str]:
    problems: list[str] = []

    def problem(step: Step | None, message: str) -> None:
        problems.append(f"{flow.path}:{step.line if step else 1}: {message}")

    if flow.start not in flow.steps:
        problem(None, f"start step '{flow.start}' does not exist; use one of: {', '.join(flow.steps)}")
    for step in flow.steps.values():
        for target in step.targets():
            if target not in flow.steps:
                problem(step, f"step '{step.id}' goes to '{target}', which is not a step of this flow")
        for option in step.get("options", []):
            if option.get("flow") and option["flow"] not in flows.flows:
                problem(step, f"option '{option['id']}' opens flow '{option['flow']}', which does not exist in flows/")
            if not (option.get("next") or option.get("flow") or option.get("command")):
                problem(step, f"option '{option['id']}' needs `next`, `flow` or `command` to say where it leads")
        if step.type == "goto":
            target = flows.get(step.get("flow"))
            if target is None:
                problem(step, f"goto flow '{step.get('flow')}' does not exist in flows/")
            elif step.get("step") and step.get("step") not in target.steps:
                problem(step, f"goto step '{step.get('step')}' is not a step of flow '{target.id}'")
        for case in step.get("cases", []):
            problems.extend(_expression_problem(flow, step, case["when"]))
        if step.type == "resources" and index is not None:
            for entry_id in step.get("ids", []):
                if not index.has(entry_id):
                    problem(step, f"resource '{entry_id}' is not in resources/entries; check the id")
        if catalog is not None:
            problems.extend(_text_problems(flow, step, catalog))
    problems.extend(_unreachable(flow))
    if catalog is not None and flow.keywords_key and not catalog.has("en", flow.keywords_key):
        problems.append(f"{flow.path}:{lines.get('triggers.keywords', 1)}: keyword list '{flow.keywords_key}' "
                        f"is not in locales/en.yaml; add it there and in every locale")
    return problems


def _expression_problem(flow: Flow, step: Step, expression: str) -> list[str]:
    try:
        _EXPRESSIONS.compile_expression(expression)
    except TemplateSyntaxError as exc:
        return [f"{flow.path}:{step.line}: condition `{expression}` cannot be read: {exc.message}"]
    return []


def step_text_keys(step: Step) -> list[str]:
    keys = [step.get(name) for name in ("text", "invalid")]
    keys += [option["label"] for option in step.get("options", [])]
    return [key for key in keys if key]


def _text_problems(flow: Flow, step: Step, catalog: Catalog) -> list[str]:
    problems = []
    # A key missing in English breaks the flow; one missing in another locale falls back to
    # English at run time and is reported by `flows check` (bot/checks.py).
    for key in step_text_keys(step):
        if not catalog.has("en", key):
            problems.append(f"{flow.path}:{step.line}: text '{key}' is not in locales/en.yaml; "
                            f"add it there and in every other locale")
    for prefix in (step.get("item_text"), step.get("status_text")):
        if prefix and not any(k.startswith(prefix + ".") for k in catalog.texts.get("en", {})):
            problems.append(f"{flow.path}:{step.line}: no texts under '{prefix}.' in locales/en.yaml")
    for option in step.get("options", []):
        for locale in LOCALES:
            label = catalog.texts.get(locale, {}).get(option["label"])
            if isinstance(label, str) and len(label) > MAX_LABEL_CHARS:
                ref = catalog.refs.get(locale, {}).get(option["label"])
                where = f"{ref.path}:{ref.line}" if ref else f"locales/{locale}.yaml"
                problems.append(f"{where}: button label '{option['label']}' has {len(label)} characters; "
                                f"LINE shows at most {MAX_LABEL_CHARS}: shorten it")
    return problems


def _unreachable(flow: Flow) -> list[str]:
    seen, todo = set(), [flow.start]
    while todo:
        step_id = todo.pop()
        if step_id in seen or step_id not in flow.steps:
            continue
        seen.add(step_id)
        todo.extend(flow.steps[step_id].targets())
    return [f"{flow.path}:{step.line}: step '{step.id}' can never be reached from '{flow.start}'; "
            f"link it with `next` or remove it" for step in flow.steps.values() if step.id not in seen]
