"""The fake LINE server's rich menu endpoints, refusing what LINE refuses.

Bodies are first checked against the endpoint's request schema in LINE's OpenAPI spec
(`line_rules.request_errors`, like every other endpoint: RichMenuRequest, CreateRichMenuAliasRequest,
UpdateRichMenuAliasRequest, RichMenuBulkLinkRequest), then against the limits of LINE's reference
pages that the spec does not carry:
Create (size 800-2500 px wide, ≥ 250 px high, width/height ≥ 1.45, chatBarText ≤ 14, name ≤ 300,
1-20 areas inside the image, actions with LINE's limits; at most 1,000 menus), upload the image
(PNG or JPEG, ≤ 1 MB, the menu's exact size, once), aliases (`^[a-z0-9_-]{1,32}$`, unique), link and
unlink per user, bulk link (1-500 users), the default menu, list, get, delete. Unknown ids: 404.
"""
from __future__ import annotations

import io
import re
import time
import uuid

from flask import Flask, Response, jsonify, request

from bot.devtools.line_rules import request_errors

MAX_MENUS = 1000
MAX_IMAGE_BYTES = 1024 * 1024
ALIAS_PATTERN = re.compile(r"^[a-z0-9_-]{1,32}$")


def reset_richmenus(state) -> None:
    state.richmenus = {}            # id -> request body (+ richMenuId)
    state.richmenu_images = {}      # id -> (content type, bytes)
    state.richmenu_aliases = {}     # alias id -> menu id
    state.user_richmenus = {}       # user id -> menu id
    state.default_richmenu = None


def _bad(message: str, *details: tuple[str, str]):
    body: dict[str, object] = {"message": message}
    if details:
        body["details"] = [{"message": m, "property": p} for m, p in details]
    return jsonify(body), 400


def _injected_failure(state, endpoint: str):
    """A failure queued with POST /_test/fail {"failures": [{"status": 500, "endpoint": "richmenu.link"}]}."""
    for index, failure in enumerate(state.failures):
        if failure.get("endpoint") == endpoint:
            state.failures.pop(index)
            return jsonify(message=failure.get("message", "Injected failure")), int(failure.get("status", 500))
    return None


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _not_found():
    return jsonify(message="Not found"), 404


def _menu_problems(body: dict) -> list[tuple[str, str]]:
    problems = []
    size = _mapping(body.get("size"))
    width, height = size.get("width"), size.get("height")
    if not (isinstance(width, int) and isinstance(height, int)):
        return [("must be specified", "size")]
    if not 800 <= width <= 2500:
        problems.append(("must be between 800 and 2500", "size.width"))
    if height < 250:
        problems.append(("must be greater than or equal to 250", "size.height"))
    if height and width / height < 1.45:
        problems.append(("aspect ratio must be 1.45 or more", "size"))
    if not isinstance(body.get("selected"), bool):
        problems.append(("must be specified", "selected"))
    if not isinstance(body.get("name"), str) or not 1 <= len(body["name"]) <= 300:
        problems.append(("size must be between 1 and 300", "name"))
    if not isinstance(body.get("chatBarText"), str) or not 1 <= len(body["chatBarText"]) <= 14:
        problems.append(("size must be between 1 and 14", "chatBarText"))
    areas = body.get("areas")
    if not isinstance(areas, list) or not 1 <= len(areas) <= 20:
        return problems + [("size must be between 1 and 20", "areas")]
    for i, area in enumerate(areas):
        problems += _area_problems(area, i, width, height)
    return problems


def _area_problems(area, i: int, width: int, height: int) -> list[tuple[str, str]]:
    bounds = area.get("bounds", {}) if isinstance(area, dict) else {}
    values = [bounds.get(k) for k in ("x", "y", "width", "height")]
    numbers = [v for v in values if isinstance(v, int)]
    if len(numbers) < len(values):
        return [("must be specified", f"areas[{i}].bounds")]
    x, y, w, h = numbers
    problems = []
    if x < 0 or y < 0 or w < 1 or h < 1 or x + w > width or y + h > height:
        problems.append(("must be inside the rich menu", f"areas[{i}].bounds"))
    action = area.get("action") if isinstance(area.get("action"), dict) else {}
    kind = action.get("type")
    if kind not in {"postback", "message", "uri", "datetimepicker", "richmenuswitch", "camera", "cameraRoll",
                    "location", "clipboard"}:
        problems.append(("invalid action type", f"areas[{i}].action.type"))
    if len(action.get("label", "")) > 20:
        problems.append(("size must be between 0 and 20", f"areas[{i}].action.label"))
    if kind == "postback" and not (isinstance(action.get("data"), str) and 1 <= len(action["data"]) <= 300):
        problems.append(("size must be between 1 and 300", f"areas[{i}].action.data"))
    if kind == "postback" and len(action.get("displayText", "")) > 300:
        problems.append(("size must be between 0 and 300", f"areas[{i}].action.displayText"))
    if kind == "uri" and not (isinstance(action.get("uri"), str) and 1 <= len(action["uri"]) <= 1000):
        problems.append(("size must be between 1 and 1000", f"areas[{i}].action.uri"))
    return problems


def _image_problem(content_type: str, data: bytes, menu: dict) -> str | None:
    if content_type not in {"image/png", "image/jpeg"}:
        return "The content type must be image/jpeg or image/png"
    if len(data) > MAX_IMAGE_BYTES:
        return "The image must be 1 MB or less"
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(io.BytesIO(data)) as image:
            expected = "PNG" if content_type == "image/png" else "JPEG"
            if image.format != expected:
                return f"The image is not a {expected}"
            if image.size != (menu["size"]["width"], menu["size"]["height"]):
                return "The image size must match the rich menu size"
    except (UnidentifiedImageError, OSError):
        return "The image could not be read"
    return None


def register_richmenu_endpoints(app: Flask, state) -> None:   # noqa: C901 - one route per endpoint
    def note(kind: str, status: int, body=None):
        state.calls.append({"endpoint": kind, "status": status, "body": body, "time": time.time()})

    def spec_refusal(kind: str, spec_path: str, method: str = "post"):
        """LINE's 400 (or 401) for a body its OpenAPI spec refuses, or None."""
        body = request.get_json(silent=True)
        problem = request_errors(spec_path, body if isinstance(body, dict) else None, request.headers, method)
        if problem is None:
            return None
        status, error = problem
        note(kind, status, body)
        return jsonify(error), status

    @app.before_request
    def _authorized():
        bearer = request.headers.get("Authorization", "").startswith("Bearer ")
        if request.path.startswith("/v2/bot/") and "richmenu" in request.path and not bearer:
            return jsonify(message="Authentication failed"), 401
        return None

    @app.post("/v2/bot/richmenu")
    def create_richmenu():
        if (refused := spec_refusal("richmenu.create", "/v2/bot/richmenu")) is not None:
            return refused
        body = request.get_json(silent=True) or {}
        if problems := _menu_problems(body):
            note("richmenu.create", 400, body)
            return _bad(f"The request body has {len(problems)} error(s)", *problems)
        with state.lock:
            if len(state.richmenus) >= MAX_MENUS:
                return _bad("The number of rich menus has reached the upper limit")
            menu_id = f"richmenu-{uuid.uuid4().hex}"
            state.richmenus[menu_id] = {**body, "richMenuId": menu_id}
            note("richmenu.create", 200, body)
        return jsonify(richMenuId=menu_id)

    @app.post("/v2/bot/richmenu/<menu_id>/content")
    def upload_richmenu_image(menu_id):
        data = request.get_data()
        content_type = (request.content_type or "").split(";")[0].strip()
        with state.lock:
            menu = state.richmenus.get(menu_id)
            if menu is None:
                return _not_found()
            if menu_id in state.richmenu_images:
                return _bad("An image has already been uploaded to the richmenu")
            if problem := _image_problem(content_type, data, menu):
                note("richmenu.content", 400)
                return _bad(problem)
            state.richmenu_images[menu_id] = (content_type, data)
            note("richmenu.content", 200)
        return jsonify({})

    @app.get("/v2/bot/richmenu/<menu_id>/content")
    def richmenu_image(menu_id):
        with state.lock:
            image = state.richmenu_images.get(menu_id)
        if image is None:
            return _not_found()
        return Response(image[1], mimetype=image[0])

    @app.get("/v2/bot/richmenu/list")
    def list_richmenus():
        with state.lock:
            return jsonify(richmenus=list(state.richmenus.values()))

    @app.get("/v2/bot/richmenu/<menu_id>")
    def get_richmenu(menu_id):
        with state.lock:
            menu = state.richmenus.get(menu_id)
        return jsonify(menu) if menu else _not_found()

    @app.delete("/v2/bot/richmenu/<menu_id>")
    def delete_richmenu(menu_id):
        with state.lock:
            if state.richmenus.pop(menu_id, None) is None:
                return _not_found()
            state.richmenu_images.pop(menu_id, None)
            state.user_richmenus = {u: m for u, m in state.user_richmenus.items() if m != menu_id}
            if state.default_richmenu == menu_id:
                state.default_richmenu = None
            note("richmenu.delete", 200)
        return jsonify({})

    @app.post("/v2/bot/richmenu/alias")
    def create_alias():
        if (refused := spec_refusal("richmenu.alias.create", "/v2/bot/richmenu/alias")) is not None:
            return refused
        body = request.get_json(silent=True) or {}
        alias_id, menu_id = body.get("richMenuAliasId"), body.get("richMenuId")
        if not isinstance(alias_id, str) or not ALIAS_PATTERN.match(alias_id):
            return _bad("The request body has 1 error(s)", ("must match ^[a-z0-9_-]{1,32}$", "richMenuAliasId"))
        with state.lock:
            if menu_id not in state.richmenus:
                return _bad("richmenu not found")
            if alias_id in state.richmenu_aliases:
                return _bad("conflict richmenu alias id")
            if menu_id not in state.richmenu_images:
                return _bad("must upload richmenu image before applying it to user")
            state.richmenu_aliases[alias_id] = menu_id
            note("richmenu.alias.create", 200, body)
        return jsonify({})

    @app.get("/v2/bot/richmenu/alias/list")
    def list_aliases():
        with state.lock:
            return jsonify(aliases=[{"richMenuAliasId": a, "richMenuId": m} for a, m in state.richmenu_aliases.items()])

    @app.route("/v2/bot/richmenu/alias/<alias_id>", methods=["GET", "POST", "DELETE"])
    def alias(alias_id):
        if request.method == "POST" and (refused := spec_refusal(
                "richmenu.alias.update", "/v2/bot/richmenu/alias/{richMenuAliasId}")) is not None:
            return refused
        with state.lock:
            if alias_id not in state.richmenu_aliases:
                return _not_found() if request.method == "GET" else _bad("richmenu alias not found")
            if request.method == "GET":
                return jsonify(richMenuAliasId=alias_id, richMenuId=state.richmenu_aliases[alias_id])
            if request.method == "DELETE":
                del state.richmenu_aliases[alias_id]
                return jsonify({})
            menu_id = (request.get_json(silent=True) or {}).get("richMenuId")
            if menu_id not in state.richmenus:
                return _bad("richmenu not found")
            state.richmenu_aliases[alias_id] = menu_id
            note("richmenu.alias.update", 200, {"richMenuAliasId": alias_id, "richMenuId": menu_id})
        return jsonify({})

    def _linkable(menu_id: str):
        if menu_id not in state.richmenus:
            return _not_found()
        if menu_id not in state.richmenu_images:
            return _bad("must upload richmenu image before applying it to user")
        return None

    @app.post("/v2/bot/user/<user_id>/richmenu/<menu_id>")
    def link_user(user_id, menu_id):
        with state.lock:
            if (refused := _injected_failure(state, "richmenu.link") or _linkable(menu_id)) is not None:
                return refused
            state.user_richmenus[user_id] = menu_id
            note("richmenu.link", 200, {"userId": user_id, "richMenuId": menu_id})
        return jsonify({})

    @app.route("/v2/bot/user/<user_id>/richmenu", methods=["GET", "DELETE"])
    def user_richmenu(user_id):
        with state.lock:
            if request.method == "DELETE":
                state.user_richmenus.pop(user_id, None)
                return jsonify({})
            menu_id = state.user_richmenus.get(user_id)
        return jsonify(richMenuId=menu_id) if menu_id else (jsonify(message="the user has no richmenu"), 404)

    @app.post("/v2/bot/richmenu/bulk/link")
    def bulk_link():
        if (refused := spec_refusal("richmenu.bulk_link", "/v2/bot/richmenu/bulk/link")) is not None:
            return refused
        body = request.get_json(silent=True) or {}
        user_ids, menu_id = body.get("userIds"), body.get("richMenuId")
        if not isinstance(user_ids, list) or not 1 <= len(user_ids) <= 500:
            return _bad("The request body has 1 error(s)", ("size must be between 1 and 500", "userIds"))
        with state.lock:
            if (refused := _linkable(str(menu_id))) is not None:
                return refused
            for user_id in user_ids:
                state.user_richmenus[user_id] = menu_id
            note("richmenu.bulk_link", 202, {"count": len(user_ids), "richMenuId": menu_id})
        return jsonify({}), 202

    @app.post("/v2/bot/user/all/richmenu/<menu_id>")
    def set_default(menu_id):
        with state.lock:
            if (refused := _linkable(str(menu_id))) is not None:
                return refused
            state.default_richmenu = menu_id
            note("richmenu.default", 200, {"richMenuId": menu_id})
        return jsonify({})

    @app.route("/v2/bot/user/all/richmenu", methods=["GET", "DELETE"])
    def default_richmenu():
        with state.lock:
            if request.method == "DELETE":
                state.default_richmenu = None
                return jsonify({})
            menu_id = state.default_richmenu
        return jsonify(richMenuId=menu_id) if menu_id else (jsonify(message="no default richmenu"), 404)

    @app.get("/_test/richmenu/<user_id>")
    def test_user_richmenu(user_id):
        """The menu a user sees: her own link, else the default (the simulator draws it)."""
        with state.lock:
            menu_id = state.user_richmenus.get(user_id) or state.default_richmenu
            menu = state.richmenus.get(menu_id) if menu_id else None
        return jsonify(menu=menu)
