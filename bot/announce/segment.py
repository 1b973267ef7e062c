"""Who an announcement reaches: consented, following parents, by language, municipality and age band.

Age bands (pregnant, child 0-1, ...) need birth and due dates, which another module keeps. It
plugs in here as an `AgeBandFilter`: a function that narrows a query of users to the bands
chosen. Without one, a segment that asks for age bands is refused rather than sent to everyone.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bot import LOCALES
from bot.store.models import User

# (query of User rows, the bands chosen, today in Japan) → the narrowed query
AgeBandFilter = Callable[[Select, tuple[str, ...], date], Select]


class SegmentError(ValueError):
    """The segment cannot be applied as chosen (an unknown language, age bands without their data)."""


@dataclass(frozen=True)
class Segment:
    locales: tuple[str, ...]
    municipalities: tuple[str, ...] = ()        # empty: every municipality (and users with none)
    age_bands: tuple[str, ...] = ()             # empty: every parent

    @classmethod
    def from_dict(cls, data: dict | None) -> Segment:
        data = data or {}
        return cls(tuple(data.get("locales") or ()), tuple(data.get("municipalities") or ()),
                   tuple(data.get("age_bands") or ()))

    def to_dict(self) -> dict:
        return {"locales": list(self.locales), "municipalities": list(self.municipalities),
                "age_bands": list(self.age_bands)}


@dataclass
class Audience:
    """How the segment's users are found; built once per request or job."""
    default_locale: str
    today: date
    age_band_filter: AgeBandFilter | None = None

    def effective_locale(self):
        # A parent who never chose a language reads the bot in the default one: announce in it too.
        return func.coalesce(User.locale, self.default_locale)

    def query(self, segment: Segment, locales: tuple[str, ...] | None = None) -> Select:
        locales = segment.locales if locales is None else locales
        unknown = sorted(set(locales) - set(LOCALES))
        if unknown:
            raise SegmentError(f"unknown languages: {', '.join(unknown)}")
        language = self.effective_locale().label("locale")
        query = (select(User.line_user_id, language)
                 .where(User.consent.is_(True), User.blocked.is_(False), language.in_(list(locales))))
        if segment.municipalities:
            query = query.where(User.municipality.in_(list(segment.municipalities)))
        if segment.age_bands:
            if self.age_band_filter is None:
                raise SegmentError("age bands need birth and due dates, which this installation does not keep yet")
            query = self.age_band_filter(query, segment.age_bands, self.today)
        return query

    def counts(self, session: Session, segment: Segment, locales: tuple[str, ...] | None = None) -> dict[str, int]:
        """Recipients per language (only languages with at least one)."""
        query = self.query(segment, locales).subquery()
        rows = session.execute(select(query.c.locale, func.count()).group_by(query.c.locale)).all()
        return {locale: count for locale, count in rows}

    def recipients(self, session: Session, segment: Segment, locales: tuple[str, ...]) -> Iterator[tuple[str, str]]:
        """(LINE user id, locale) in a stable order, so batches are the same whoever plans them."""
        query = self.query(segment, locales).order_by(User.id)
        yield from session.execute(query).tuples()


def municipalities_known(session: Session) -> list[str]:
    return sorted(m for m in session.scalars(select(User.municipality).distinct()) if m)
