"""What LINE's Messaging API refuses, for the fake LINE server: the published spec plus documented limits.

Two layers, both answering LINE's error shape (`{"message": ..., "details": [{"message", "property"}]}`):

1. The request body against the request schema of the endpoint in LINE's OpenAPI spec
   (vendored in `line_openapi/`). The spec is OpenAPI 3.0: its schemas refer to each other as
   `#/components/schemas/X` and choose message, action, template and Flex types with a
   `discriminator`, whose subtypes repeat the base in an `allOf`. `spec_json_schema` turns that
   into one JSON Schema document: each discriminated base becomes "one of these types, then that
   type's schema", and a subtype's `allOf` points at the base's own properties only (otherwise
   base → subtype → base would never end).
2. Limits from LINE's reference pages that the spec does not carry (text length, quick reply
   items, template actions, Flex sizes, loadingSeconds steps...), checked once the body has the
   right shape.
"""
from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.validators import extend

SPEC_PATH = Path(__file__).parent / "line_openapi" / "messaging-api.yml"
_SCHEMA_PREFIX = "#/components/schemas/"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@lru_cache(maxsize=1)
def load_spec() -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=loader)


# ---- layer 1: the spec as JSON Schema ----------------------------------------------------------------
def _convert(node):
    """OpenAPI 3.0 schema → JSON Schema: local $refs into $defs, `nullable`, no discriminator keyword."""
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _convert(value) for key, value in node.items() if key not in {"discriminator", "nullable"}}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_SCHEMA_PREFIX):
        converted["$ref"] = "#/$defs/" + ref[len(_SCHEMA_PREFIX):]
    if node.get("nullable") and isinstance(node.get("type"), str):
        converted["type"] = [node["type"], "null"]
    return converted


def _choose_by_discriminator(discriminator: dict) -> dict:
    """`type` must be one of the mapped values; the instance then validates against that type's schema.

    A keyword of our own (`x-discriminator`, see `_discriminator`) rather than an if/then per
    type: a quick reply of 13 actions would otherwise try nine action types each.
    """
    mapping = {value: "#/$defs/" + target[len(_SCHEMA_PREFIX):] for value, target in discriminator["mapping"].items()}
    return {"x-discriminator": {"propertyName": discriminator["propertyName"], "mapping": mapping}}


def _discriminator(validator, spec: dict, instance, schema):
    if not isinstance(instance, dict):
        yield ValidationError(f"{instance!r} is not of type 'object'", validator="type", validator_value="object",
                              schema={"type": "object"})
        return
    prop, mapping = spec["propertyName"], spec["mapping"]
    if prop not in instance:
        yield ValidationError(f"{prop!r} is a required property", validator="required", validator_value=[prop],
                              schema={"required": [prop]})
        return
    target = mapping.get(instance[prop]) if isinstance(instance[prop], str) else None
    if target is None:
        yield ValidationError(f"{instance[prop]!r} is not one of {list(mapping)}", validator="enum",
                              validator_value=list(mapping), schema={"enum": list(mapping)}, path=[prop])
        return
    yield from validator.descend(instance, {"$ref": target})


def spec_json_schema(spec: dict) -> dict:
    schemas = spec["components"]["schemas"]
    defs = {name: _convert(schema) for name, schema in schemas.items()}
    for name, schema in schemas.items():
        discriminator = schema.get("discriminator")
        if not discriminator:
            continue
        defs[f"{name}__base"] = defs[name]
        defs[name] = _choose_by_discriminator(discriminator)
        base_ref = {"$ref": f"#/$defs/{name}"}
        for target in discriminator["mapping"].values():
            subtype = defs[target[len(_SCHEMA_PREFIX):]]
            subtype["allOf"] = [{"$ref": f"#/$defs/{name}__base"} if part == base_ref else part
                                for part in subtype.get("allOf", [])]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs}


_formats = FormatChecker(formats=())


@_formats.checks("uri", raises=ValueError)
def _is_uri(value) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    if parts.scheme in {"http", "https"}:
        return bool(parts.netloc) and " " not in value
    return parts.scheme in {"line", "tel", "mailto"} and bool(parts.path or parts.netloc)


@_formats.checks("uuid", raises=ValueError)
def _is_uuid(value) -> bool:
    return not isinstance(value, str) or bool(_UUID.match(value))


_SpecValidator = extend(Draft202012Validator, validators={"x-discriminator": _discriminator})


@cache
def _validator(schema_name: str):
    document = spec_json_schema(load_spec())
    document = {**document, "$ref": f"#/$defs/{schema_name}"}
    return _SpecValidator(document, format_checker=_formats)


def operation(path: str, method: str = "post") -> dict:
    return load_spec()["paths"][path][method]


def request_schema_name(path: str, method: str = "post") -> str | None:
    body = operation(path, method).get("requestBody", {})
    ref = body.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    return ref[len(_SCHEMA_PREFIX):] if ref.startswith(_SCHEMA_PREFIX) else None


def header_names(path: str, method: str = "post") -> set[str]:
    return {p["name"].lower() for p in operation(path, method).get("parameters", []) if p.get("in") == "header"}


def _property(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error) -> dict:
    schema, kind = error.schema, error.validator
    prop = _property(error.absolute_path)
    if kind == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        name = missing.group(1) if missing else "?"
        return {"message": "Must not be null", "property": f"{prop}.{name}" if prop else name}
    if kind in {"maxLength", "minLength"}:
        text = f"Length must be between {schema.get('minLength', 0)} and {schema.get('maxLength', 'unlimited')}"
    elif kind in {"maxItems", "minItems"}:
        text = f"Size must be between {schema.get('minItems', 0)} and {schema.get('maxItems', 'unlimited')}"
    elif kind in {"maximum", "minimum"}:
        text = f"Must be between {schema.get('minimum', '-')} and {schema.get('maximum', '-')}"
    elif kind == "enum":
        text = "Must be one of the following values: [" + ", ".join(map(str, schema["enum"])) + "]"
    elif kind == "type":
        text = f"Must be of type {schema['type']}"
    elif kind == "format":
        text = f"Invalid {schema['format']}"
    else:
        text = f"Invalid value ({kind})"
    return {"message": text, "property": prop}


def schema_errors(schema_name: str, body) -> list[dict]:
    try:
        errors = sorted(_validator(schema_name).iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
        return _unique([_describe(error) for error in errors])
    except RecursionError:
        return [{"message": "The request body is nested too deeply", "property": ""}]


def _unique(details: list[dict]) -> list[dict]:
    seen, kept = set(), []
    for detail in details:
        key = (detail["message"], detail["property"])
        if key not in seen:
            seen.add(key)
            kept.append(detail)
    return kept


# ---- layer 2: documented limits the spec does not carry ----------------------------------------------
# From https://developers.line.biz/en/reference/messaging-api/ (message, action, template, Flex and
# loading indicator objects) and DESIGN.md's LINE rules.
TEXT_MAX_UTF16 = 5000
QUICK_REPLY_MAX_ITEMS = 13
QUICK_REPLY_LABEL_MAX = 20
TEMPLATE_ALT_TEXT_MAX = 400
FLEX_ALT_TEXT_MAX = 1500
BUTTONS_MAX_ACTIONS = 4
CAROUSEL_MAX_COLUMNS = 10
CAROUSEL_COLUMN_MAX_ACTIONS = 3
TEMPLATE_LABEL_MAX = 20
FLEX_CAROUSEL_MAX_BUBBLES = 12
FLEX_BUBBLE_MAX_BYTES = 30 * 1024
FLEX_CAROUSEL_MAX_BYTES = 50 * 1024
ACTION_TEXT_MAX = 300
URI_MAX = 1000


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _json_bytes(value) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


class _Problems:
    def __init__(self):
        self.details: list[dict] = []

    def add(self, prop: str, message: str) -> None:
        self.details.append({"message": message, "property": prop})

    def length(self, prop: str, value, low: int, high: int, required: bool = True) -> None:
        if value is None and not required:
            return
        if not isinstance(value, str) or not low <= _utf16_length(value) <= high:
            self.add(prop, f"Length must be between {low} and {high}")

    def size(self, prop: str, items, low: int, high: int) -> None:
        if not isinstance(items, list) or not low <= len(items) <= high:
            self.add(prop, f"Size must be between {low} and {high}")


def _check_action(problems: _Problems, prop: str, action: dict, label_max: int | None) -> None:
    kind = action.get("type")
    if label_max is not None:
        problems.length(f"{prop}.label", action.get("label"), 1, label_max,
                        required=kind not in {"camera", "cameraRoll", "location"} or "label" in action)
    if kind == "postback":
        problems.length(f"{prop}.data", action.get("data"), 1, ACTION_TEXT_MAX)
        for key in ("displayText", "text", "fillInText"):
            problems.length(f"{prop}.{key}", action.get(key), 1, ACTION_TEXT_MAX, required=False)
        if "displayText" in action and "text" in action:
            problems.add(f"{prop}.text", "displayText and text cannot both be set")
    elif kind == "message":
        problems.length(f"{prop}.text", action.get("text"), 1, ACTION_TEXT_MAX)
    elif kind == "uri":
        problems.length(f"{prop}.uri", action.get("uri"), 1, URI_MAX)
    elif kind == "datetimepicker":
        problems.length(f"{prop}.data", action.get("data"), 1, ACTION_TEXT_MAX)
        if action.get("mode") is None:
            problems.add(f"{prop}.mode", "Must not be null")


def _check_quick_reply(problems: _Problems, prop: str, quick_reply: dict) -> None:
    items = quick_reply.get("items")
    problems.size(f"{prop}.items", items, 1, QUICK_REPLY_MAX_ITEMS)
    for j, item in enumerate(items or []):
        item_prop = f"{prop}.items[{j}]"
        if item.get("type") != "action":
            problems.add(f"{item_prop}.type", "Must be one of the following values: [action]")
        if not isinstance(item.get("action"), dict):
            problems.add(f"{item_prop}.action", "Must not be null")
            continue
        _check_action(problems, f"{item_prop}.action", item["action"], QUICK_REPLY_LABEL_MAX)


def _check_template(problems: _Problems, prop: str, message: dict) -> None:
    problems.length(f"{prop}.altText", message.get("altText"), 1, TEMPLATE_ALT_TEXT_MAX)
    template, tprop = message["template"], f"{prop}.template"
    kind = template.get("type")
    if kind == "buttons":
        problems.size(f"{tprop}.actions", template.get("actions"), 1, BUTTONS_MAX_ACTIONS)
        short = template.get("thumbnailImageUrl") or template.get("title")
        problems.length(f"{tprop}.text", template.get("text"), 1, 60 if short else 160)
        problems.length(f"{tprop}.title", template.get("title"), 1, 40, required=False)
        actions = template.get("actions") or []
    elif kind == "confirm":
        problems.size(f"{tprop}.actions", template.get("actions"), 2, 2)
        problems.length(f"{tprop}.text", template.get("text"), 1, 240)
        actions = template.get("actions") or []
    elif kind in {"carousel", "image_carousel"}:
        columns = template.get("columns") or []
        problems.size(f"{tprop}.columns", template.get("columns"), 1, CAROUSEL_MAX_COLUMNS)
        actions = []
        for c, column in enumerate(columns):
            cprop = f"{tprop}.columns[{c}]"
            if kind == "carousel":
                problems.size(f"{cprop}.actions", column.get("actions"), 1, CAROUSEL_COLUMN_MAX_ACTIONS)
                actions += [(f"{cprop}.actions[{a}]", action) for a, action in enumerate(column.get("actions") or [])]
            else:
                actions.append((f"{cprop}.action", column.get("action") or {}))
        if kind == "carousel" and len({len(column.get("actions") or []) for column in columns}) > 1:
            problems.add(f"{tprop}.columns", "Every column must have the same number of actions")
        for action_prop, action in actions:
            _check_action(problems, action_prop, action, TEMPLATE_LABEL_MAX)
        return
    else:
        return
    for a, action in enumerate(actions):
        _check_action(problems, f"{tprop}.actions[{a}]", action, TEMPLATE_LABEL_MAX)


def _check_flex(problems: _Problems, prop: str, message: dict) -> None:
    problems.length(f"{prop}.altText", message.get("altText"), 1, FLEX_ALT_TEXT_MAX)
    contents, cprop = message["contents"], f"{prop}.contents"
    if contents.get("type") == "carousel":
        bubbles = contents.get("contents")
        problems.size(f"{cprop}.contents", bubbles, 1, FLEX_CAROUSEL_MAX_BUBBLES)
        if _json_bytes(contents) > FLEX_CAROUSEL_MAX_BYTES:
            problems.add(cprop, f"Size must be at most {FLEX_CAROUSEL_MAX_BYTES} bytes")
        for b, bubble in enumerate(bubbles or []):
            if _json_bytes(bubble) > FLEX_BUBBLE_MAX_BYTES:
                problems.add(f"{cprop}.contents[{b}]", f"Size must be at most {FLEX_BUBBLE_MAX_BYTES} bytes")
    elif _json_bytes(contents) > FLEX_BUBBLE_MAX_BYTES:
        problems.add(cprop, f"Size must be at most {FLEX_BUBBLE_MAX_BYTES} bytes")


# URLs LINE's servers fetch themselves (icons, images, video, audio) must be HTTPS.
HTTPS_FIELDS = ("originalContentUrl", "previewImageUrl", "thumbnailImageUrl", "baseUrl")


def _check_https(problems: _Problems, prop: str, message: dict) -> None:
    urls = [(f"{prop}.{key}", message.get(key)) for key in HTTPS_FIELDS]
    if isinstance(message.get("sender"), dict):
        urls.append((f"{prop}.sender.iconUrl", message["sender"].get("iconUrl")))
    for url_prop, url in urls:
        if url is not None and not str(url).startswith("https://"):
            problems.add(url_prop, "Must be an HTTPS URL")


def message_limit_errors(messages: list[dict]) -> list[dict]:
    problems = _Problems()
    for i, message in enumerate(messages):
        prop = f"messages[{i}]"
        kind = message.get("type")
        _check_https(problems, prop, message)
        if kind in {"text", "textV2"}:
            problems.length(f"{prop}.text", message.get("text"), 1, TEXT_MAX_UTF16)
        elif kind == "template":
            _check_template(problems, prop, message)
        elif kind == "flex":
            _check_flex(problems, prop, message)
        if isinstance(message.get("quickReply"), dict):
            _check_quick_reply(problems, f"{prop}.quickReply", message["quickReply"])
    return problems.details


def loading_limit_errors(body: dict) -> list[dict]:
    seconds = body.get("loadingSeconds", 20)
    if seconds % 5:
        return [{"message": "Must be a multiple of 5", "property": "loadingSeconds"}]
    return []


def request_errors(path: str, body, headers, method: str = "post") -> tuple[int, dict] | None:
    """None when LINE would accept the request; else (status, LINE's error body).

    `path` is the spec's path template (`/v2/bot/profile/{userId}`); `body` is the parsed JSON
    object, or None when the body was missing, not JSON or not an object.
    """
    if not str(headers.get("Authorization", "")).startswith("Bearer ") or len(headers["Authorization"]) <= 7:
        return 401, {"message": "Authentication failed. "
                                "Confirm that the access token in the authorization header is valid."}
    retry_key = headers.get("X-Line-Retry-Key")
    if retry_key is not None and "x-line-retry-key" not in header_names(path, method):
        return 400, {"message": "The retry key cannot be used with this endpoint (only push, multicast, "
                                "narrowcast and broadcast accept X-Line-Retry-Key)"}
    if retry_key is not None and not _UUID.match(retry_key):
        return 400, {"message": "The value of the X-Line-Retry-Key header is not a valid UUID"}
    schema_name = request_schema_name(path, method)
    if schema_name is None:
        return None
    if body is None:
        return 400, {"message": "The request body has 1 error(s)",
                     "details": [{"message": "The request body must be a JSON object", "property": ""}]}
    details = schema_errors(schema_name, body) or _limit_errors(path, body)
    if details:
        return 400, {"message": f"The request body has {len(details)} error(s)", "details": details}
    return None


def _limit_errors(path: str, body: dict) -> list[dict]:
    if isinstance(body.get("messages"), list):
        return message_limit_errors(body["messages"])
    if path == "/v2/bot/chat/loading/start":
        return loading_limit_errors(body)
    return []
