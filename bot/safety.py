"""Safety first: every free-text message is triaged before anything else.

Emergency → what to do, the numbers and how to say the address in Japanese, at once, in the
user's language, with call buttons; an urgent case; and, plainly, whether a person is there now.
Crisis → the matching hotline(s) from the index, a high-priority case, call buttons, the same
plain word about the desk. Out of hours nobody reads the chat, so the answer says when the desk
opens and what to do now, never "a person will write to you".
A request for a person, symptoms that need a judgement, a dispute → a case, with hints.
A calm question about danger (triage level "guide") is answered on the index path by
CalmAnswers: the number first, a person offered by a button, no case.
"""
from __future__ import annotations

from bot.messages import postback_action, tel_uri, text_message, uri_action, with_quick_replies_first
from bot.resources.lines import FALLBACK, PhoneLines
from bot.triage import TriageResult, triage
from bot.turn import TurnContext

CASE_PRIORITY = {"emergency": "urgent", "crisis": "high"}
ADVISOR_PRIORITY = {"medical-symptoms": "high", "legal-dispute": "normal", "labour-dispute": "normal",
                    "person-request": "normal", "residence-status": "high"}
# Call buttons per emergency category, the most useful first ("child"/"adult": the area's
# advice line for children (#8000) or adults (#7119), from resources/phone_lines.yaml).
EMERGENCY_CALLS = {"child-medical": ("ambulance", "child", "police"), "violence": ("police", "ambulance")}
DEFAULT_EMERGENCY_CALLS = ("ambulance", "adult", "police")
CALM_QUESTION_CALLS = {
    "child-health-question": ("child", "ambulance"),
    "vaccination-question": ("child", "ambulance"),
    "ambulance-question": ("ambulance", "adult", "child"),
    "adult-health-question": ("adult", "child", "ambulance"),
    "pet-health": (),
}
FIXED_NUMBERS = {"ambulance": "119", "police": "110"}
MAX_CALL_BUTTONS = 5


class PhoneHelp:
    """The numbers a parent can call, for their area and in their language: tappable call buttons
    (LINE URI actions with tel:) and a line of text ("#7119 (or 03-6810-1636; ...hours)")."""

    def __init__(self, catalog, lines: PhoneLines | None, default_municipality: str | None = None):
        self._catalog = catalog
        self._lines = lines or FALLBACK
        self._default_municipality = default_municipality

    def municipality_of(self, ctx: TurnContext) -> str | None:
        return (ctx.user.municipality if ctx.user else None) or self._default_municipality

    def buttons(self, locale: str, municipality: str | None, kinds: tuple[str, ...],
                extra_numbers: tuple[str, ...] = ()) -> list[dict]:
        actions, seen = [], set()
        for kind in kinds:
            if kind in FIXED_NUMBERS:
                number, uri = FIXED_NUMBERS[kind], f"tel:{FIXED_NUMBERS[kind]}"
            else:
                line = self._lines.line(kind, municipality)
                number, uri = line.dial, line.call_uri
            seen.add(number)
            actions.append(uri_action(self._catalog.text(locale, f"danger.call_{kind}", dial=number), uri))
        for number in extra_numbers:                 # hotlines of the entries shown (0120-279-338, 189)
            if number not in seen:
                seen.add(number)
                actions.append(uri_action(f"📞 {number}", tel_uri(number)))
        return actions[:MAX_CALL_BUTTONS]

    def describe(self, locale: str, municipality: str | None, kind: str) -> str:
        """"#8000 (or 043-242-9939; every day 19:00–08:00)": the number, the ordinary number, the hours."""
        line = self._lines.line(kind, municipality)
        details = []
        if line.phone:
            details.append(self._catalog.text(locale, "danger.line_or", phone=line.phone))
        hours = [self._hours_text(locale, days, time) for days, time in line.hours]
        if hours:
            details.append(", ".join(hours))
        return f"{line.dial} ({'; '.join(details)})" if details else line.dial

    def _hours_text(self, locale: str, days: str, time: str) -> str:
        when = self._catalog.text(locale, f"danger.days_{days}")
        shown = self._catalog.text(locale, "danger.hours_24h") if time == "24h" else time.replace("-", "–")
        return f"{when} {shown}"


class SafetyResponder:
    def __init__(self, content, cases, render_entries, language_hint, privacy, now=None, municipality=None,
                 assess=None):
        self._rules = content.triage_rules
        # The shared assessment (bot/routing.py: rules, then the classifier and translation nets).
        self._assess = assess or (lambda text: triage(text, self._rules))
        self._catalog = content.catalog
        self._index = content.index
        self._hours = content.desk_hours
        self._cases = cases
        self._render_entries = render_entries
        self._language_hint = language_hint
        self._privacy = privacy
        self._now = now
        self._phones = PhoneHelp(content.catalog, getattr(content, "phone_lines", None), municipality)

    def respond(self, ctx: TurnContext, text: str) -> bool:
        """Answer and open a case when the message needs a person; False lets the bot go on
        (nothing found, or a calm question, which the index path answers)."""
        result = self._assess(text)
        if result.level in ("none", "guide"):
            return False
        locale = self._locale_for(ctx, text)
        if ctx.user is not None and ctx.user.consent is not True:
            self._respond_without_case(ctx, result, locale)
            return True
        ctx.say(text_message(self._text(locale, result)))
        if result.level != "emergency" and result.resource_ids:
            ctx.say(*self._render_entries(list(result.resource_ids), locale))
        self._open_case(ctx, result, announce=not result.is_urgent)
        if result.is_urgent:
            ctx.say(self._desk_status(locale, CASE_PRIORITY[result.level]))
            self._attach_calls(ctx, locale, result)
        return True

    def _text(self, locale: str, result: TriageResult) -> str:
        """Emergency: danger.emergency.<category> and how to call in Japanese. Otherwise
        safety.<level>.<category>, or the level's general text when the category has none."""
        if result.level == "emergency":
            key = f"danger.emergency.{result.category}"
            key = key if self._catalog.has("en", key) else "danger.emergency.general"
            return self._catalog.text(locale, key) + "\n\n" + self._catalog.text(locale, "danger.how_to_call")
        key = f"safety.{result.level}.{result.category}"
        return self._catalog.text(locale, key if self._catalog.has("en", key) else f"safety.{result.level}.general")

    def _desk_status(self, locale: str, priority: str) -> str:
        """Whether a person is there now; out of hours, when the desk opens (never a bare promise)."""
        moment = self._now() if self._now else None
        if self._hours is None or moment is None:
            return self._catalog.text(locale, "danger.desk_closed_unknown")
        if self._hours.is_open(moment):
            return self._catalog.text(locale, "danger.desk_open", minutes=self._hours.expected_wait_minutes[priority])
        opening = self._hours.next_opening(moment)
        if opening is None:
            return self._catalog.text(locale, "danger.desk_closed_unknown")
        return self._catalog.text(locale, "danger.desk_closed", opens_day=opening.date().isoformat(),
                                  opens_time=opening.strftime("%H:%M"))

    def _attach_calls(self, ctx: TurnContext, locale: str, result: TriageResult) -> None:
        """Call buttons on the turn's last message: LINE shows only the last message's quick replies."""
        kinds = EMERGENCY_CALLS.get(result.category or "", DEFAULT_EMERGENCY_CALLS) if result.level == "emergency" else ()
        buttons = self._phones.buttons(locale, self._phones.municipality_of(ctx), kinds, self._hotlines(result))
        if buttons and ctx.outgoing:
            ctx.outgoing[-1] = with_quick_replies_first(ctx.outgoing[-1], buttons)

    def _hotlines(self, result: TriageResult) -> tuple[str, ...]:
        numbers = []
        for entry_id in result.resource_ids:
            if self._index is not None and self._index.has(entry_id):
                numbers += [c.phone for c in self._index.get(entry_id).contacts[:1] if c.phone]
        return tuple(numbers)

    def _respond_without_case(self, ctx: TurnContext, result: TriageResult, locale: str) -> None:
        """The user has not agreed to the privacy notice: numbers and hotlines, no case, no storage."""
        if result.level == "emergency":
            ctx.say(self._text(locale, result))
        elif result.resource_ids:
            ctx.say(*self._render_entries(list(result.resource_ids), locale))
        ctx.say(self._privacy.notice(ctx, "privacy.reminder"))
        if result.is_urgent:
            self._attach_calls(ctx, locale, result)

    def _locale_for(self, ctx: TurnContext, text: str) -> str:
        # A first message before any language was chosen still gets the numbers in its language.
        if ctx.user and ctx.user.locale:
            return ctx.user.locale
        hint = self._language_hint(text)
        if hint and ctx.user:
            ctx.user.locale = hint            # no language chosen yet: not a switch, a first choice
        return hint or ctx.locale

    def _open_case(self, ctx: TurnContext, result: TriageResult, announce: bool) -> None:
        if ctx.user is None:
            return
        priority = CASE_PRIORITY.get(result.level) or ADVISOR_PRIORITY.get(result.category or "", "normal")
        reason = f"triage: {result.level}/{result.category}"
        self._cases.open_case(ctx, topic=result.topic or "living", priority=priority, reason=reason,
                              announce=announce)


class CalmAnswers:
    """A calm question about danger ("is there a number to ask at night?", "my cat is not
    eating"): the right number and how to use it at once, what else the index knows, and a
    person offered by a button. No case is opened: the parent decides by tapping."""

    def __init__(self, content, render_entries, municipality: str | None = None):
        self._catalog = content.catalog
        self._index = content.index
        self._render_entries = render_entries
        self._phones = PhoneHelp(content.catalog, getattr(content, "phone_lines", None), municipality)

    def answer(self, ctx: TurnContext, result: TriageResult, entry_ids: tuple[str, ...]) -> None:
        locale, municipality = ctx.locale, self._phones.municipality_of(ctx)
        key = f"danger.guide.{result.category}"
        text = self._catalog.text(locale, key if self._catalog.has("en", key) else "danger.guide.adult-health-question",
                                  adult_line=self._phones.describe(locale, municipality, "adult"),
                                  child_line=self._phones.describe(locale, municipality, "child"))
        if result.category == "ambulance-question":
            text += "\n\n" + self._catalog.text(locale, "danger.how_to_call")
        ctx.say(text)
        # The phone-line entries repeat what the text just said for this area; other entries
        # (the vaccination schedule) add to it.
        more = [e for e in entry_ids if self._index.has(e) and self._index.get(e).category != "emergency"]
        ctx.say(*self._render_entries(more[:2], locale))
        calls = self._phones.buttons(locale, municipality, CALM_QUESTION_CALLS.get(result.category or "", ()))
        ctx.say(text_message(ctx.t("danger.offer_person"), quick_replies=calls + [
            postback_action(ctx.t("menu.person"), "cmd:person"),
            postback_action(ctx.t("menu.main"), "cmd:menu")]))
