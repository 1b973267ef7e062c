"""Every flow walked in every locale: each step reached, every text rendered, LINE limits kept."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot import LOCALES
from bot.dialogue.messages import MAX_LABEL_CHARS, utf16_len
from bot.flows.engine import FlowEngine, FlowState

TODAY = date(2026, 11, 23)
ASK_ANSWERS = {
    "date": [(TODAY - timedelta(days=5)).isoformat(), (TODAY + timedelta(days=3)).isoformat(),
             (TODAY - timedelta(days=90)).isoformat()],
    "number": ["1"], "text": ["my question"],
}


@pytest.fixture(scope="module")
def content(shared_content):
    return shared_content.current()


def check_messages(messages: list[dict]) -> None:
    for message in messages:
        text = message.get("text") or message.get("altText") or ""
        assert "{{" not in text and "}}" not in text, text
        assert utf16_len(text) <= 5000
        for item in (message.get("quickReply") or {}).get("items", []):
            assert len(item["action"]["label"]) <= MAX_LABEL_CHARS, item["action"]["label"]


def walk(engine: FlowEngine, flow_id: str) -> None:
    """Breadth-first over every option and answer, so every reachable step runs once at least."""
    seen_states, queue = set(), [engine.start(flow_id)]
    while queue:
        result = queue.pop(0)
        check_messages(result.messages)
        state = result.state
        key = (state.flow_id, state.step_id, tuple(sorted((k, str(v)) for k, v in state.variables.items()
                                                           if k in {"over_30_days", "parents_working", "birth_problem"})))
        if not state.active or key in seen_states:
            continue
        seen_states.add(key)
        step = engine.flows.step(state.flow_id, state.step_id)
        if step.type == "choice":
            for option in step.get("options"):
                if not option.get("flow"):              # other flows are walked on their own
                    queue.append(engine.tap(state, state.flow_id, step.id, option["id"]))
        elif step.get("input") == "yes_no":
            queue += [engine.tap(state, state.flow_id, step.id, "@yes"), engine.tap(state, state.flow_id, step.id, "@no")]
        else:
            for answer in ASK_ANSWERS[step.get("input")]:
                queue.append(engine.answer_text(FlowState(state.flow_id, state.step_id, dict(state.variables)), answer))


@pytest.mark.parametrize("locale", LOCALES)
def test_every_step_of_every_flow_in_every_locale(content, locale):
    answerer_ids: list[str] = []
    engine = FlowEngine(content.flows, content.catalog, locale, TODAY,
                        render_resources=lambda ids, loc: answerer_ids.extend(ids) or [])
    for flow_id in content.flows.flows:
        walk(engine, flow_id)
    every_step = {(f.id, s) for f in content.flows.flows.values() for s in f.steps}
    assert every_step - engine.visited == set()
    assert all(content.index.has(entry_id) for entry_id in answerer_ids)


def test_birth_checklist_shows_real_dates_in_vietnamese(content):
    engine = FlowEngine(content.flows, content.catalog, "vi", TODAY)
    state = engine.start("birth_checklist").state
    result = engine.answer_text(state, "2026-11-10")
    text = "\n".join(m.get("text", "") for m in result.messages)
    assert "23/11/2026" in text and "10/12/2026" in text      # registration today, visa in 17 days


def test_birth_date_in_the_future_hands_off(content):
    engine = FlowEngine(content.flows, content.catalog, "ja-easy", TODAY)
    result = engine.answer_text(engine.start("birth_checklist").state, "2026-12-01")
    assert result.handoff == {"topic": "pregnancy", "priority": "normal"}


def test_invalid_date_is_asked_again_and_state_kept(content):
    engine = FlowEngine(content.flows, content.catalog, "en", TODAY)
    state = engine.start("birth_checklist").state
    result = engine.answer_text(state, "yesterday-ish")
    assert result.state.step_id == "ask_birth_date" and len(result.messages) == 2
