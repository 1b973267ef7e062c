"""Phone lines for medical advice by phone (#7119 for adults, #8000 for children), per area.

Read from resources/phone_lines.yaml, which admins edit: the number and hours depend on the
prefecture (Chiba's #7119 is not open in the daytime on weekdays; Tokyo's is open 24 hours), so
they are data keyed by municipality, never written in Python.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.content.yamlfile import ProblemsError, YamlFileError, load_yaml_with_lines
from bot.dialogue.messages import tel_uri

# *_yearend: the year-end days 29 Dec-3 Jan count too; *_gw: and Golden Week, 29 Apr-5 May (Chiba's #7119
# runs its Sunday hours on those days; a weekday among them is not "Mon-Sat" for that line).
DAY_GROUPS = ("every_day", "mon_fri", "mon_sat", "sat_sun_holidays", "sun_holidays",
              "sat_sun_holidays_yearend", "sun_holidays_yearend_gw")
KINDS = ("adult", "child")
DEFAULT_AREA = "default"
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")


class PhoneLinesError(ProblemsError):
    pass


@dataclass(frozen=True)
class PhoneLine:
    dial: str                                   # "#7119"
    phone: str | None = None                    # "03-6810-1636"
    hours: tuple[tuple[str, str], ...] = ()     # (("mon_sat", "18:00-08:00"), ...); () = not known

    @property
    def call_uri(self) -> str:
        """The call button's URI: the ordinary number when known, because iPhones refuse to dial
        a number with '#' from a link; else the short number ("tel:%237119")."""
        return tel_uri(self.phone or self.dial)


@dataclass(frozen=True)
class PhoneLines:
    areas: dict[str, dict[str, PhoneLine]]
    municipalities: dict[str, str]

    def line(self, kind: str, municipality: str | None) -> PhoneLine:
        area = self.municipalities.get(municipality or "", DEFAULT_AREA)
        return self.areas.get(area, {}).get(kind) or self.areas[DEFAULT_AREA][kind]

    def is_local(self, municipality: str | None) -> bool:
        return (municipality or "") in self.municipalities


FALLBACK = PhoneLines(areas={DEFAULT_AREA: {"adult": PhoneLine("#7119"), "child": PhoneLine("#8000")}},
                      municipalities={})


def load_phone_lines(path: Path) -> PhoneLines:
    if not path.exists():
        return FALLBACK
    try:
        data, lines = load_yaml_with_lines(path)
    except YamlFileError as exc:
        raise PhoneLinesError([str(exc)]) from None
    problems: list[str] = []
    data = data if isinstance(data, dict) else {}
    areas: dict[str, dict[str, PhoneLine]] = {}
    for area, kinds in (data.get("areas") or {}).items():
        areas[str(area)] = {}
        for kind, spec in (kinds or {}).items():
            where = f"{path}:{lines.get(f'areas.{area}.{kind}', 1)}"
            if kind not in KINDS:
                problems.append(f"{where}: '{kind}' is not a kind of line; use {' or '.join(KINDS)}")
                continue
            line = _line(spec, where, problems)
            if line:
                areas[str(area)][kind] = line
    if set(KINDS) - set(areas.get(DEFAULT_AREA, {})):
        problems.append(f"{path}:1: 'areas: default:' needs both an adult and a child line")
    municipalities = {str(k): str(v) for k, v in (data.get("municipalities") or {}).items()}
    for slug, area in municipalities.items():
        if area not in areas:
            problems.append(f"{path}:{lines.get(f'municipalities.{slug}', 1)}: municipality '{slug}' points to "
                            f"area '{area}', which is not under 'areas:'")
    if problems:
        raise PhoneLinesError(problems)
    return PhoneLines(areas=areas, municipalities=municipalities)


def _line(spec, where: str, problems: list[str]) -> PhoneLine | None:
    if not isinstance(spec, dict) or not str(spec.get("dial") or "").strip():
        problems.append(f"{where}: each line needs 'dial:' (the number people call, like \"#7119\")")
        return None
    hours = []
    for item in spec.get("hours") or []:
        days, time = str((item or {}).get("days")), str((item or {}).get("time"))
        if days not in DAY_GROUPS:
            problems.append(f"{where}: days '{days}' is not one of {', '.join(DAY_GROUPS)}")
        elif time != "24h" and not _TIME.match(time):
            problems.append(f"{where}: time '{time}' is not like \"18:00-08:00\" or 24h")
        else:
            hours.append((days, time))
    phone = str(spec["phone"]).strip() if spec.get("phone") else None
    return PhoneLine(dial=str(spec["dial"]).strip(), phone=phone, hours=tuple(hours))
