"""Dates and numbers written the way each locale's readers expect (Gregorian calendar, Japan time)."""
from __future__ import annotations

import re
from datetime import date

_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "tl": "Enero Pebrero Marso Abril Mayo Hunyo Hulyo Agosto Setyembre Oktubre Nobyembre Disyembre",
    "id": "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "ne": "जनवरी फेब्रुअरी मार्च अप्रिल मे जुन जुलाई अगस्ट सेप्टेम्बर अक्टोबर नोभेम्बर डिसेम्बर",
    "hi": "जनवरी फ़रवरी मार्च अप्रैल मई जून जुलाई अगस्त सितंबर अक्टूबर नवंबर दिसंबर",
    "bn": "জানুয়ারি ফেব্রুয়ারি মার্চ এপ্রিল মে জুন জুলাই আগস্ট সেপ্টেম্বর অক্টোবর নভেম্বর ডিসেম্বর",
    "my": "ဇန်နဝါရီ ဖေဖော်ဝါရီ မတ် ဧပြီ မေ ဇွန် ဇူလိုင် ဩဂုတ် စက်တင်ဘာ အောက်တိုဘာ နိုဝင်ဘာ ဒီဇင်ဘာ",
    "si": "ජනවාරි පෙබරවාරි මාර්තු අප්‍රේල් මැයි ජූනි ජූලි අගෝස්තු සැප්තැම්බර් ඔක්තෝබර් නොවැම්බර් දෙසැම්බර්",
    "th": "มกราคม กุมภาพันธ์ มีนาคม เมษายน พฤษภาคม มิถุนายน กรกฎาคม สิงหาคม กันยายน ตุลาคม พฤศจิกายน ธันวาคม",
}
_WEEKDAYS = {  # Monday first, as date.weekday()
    "ja": "月 火 水 木 金 土 日",
    "ja-easy": "げつようび かようび すいようび もくようび きんようび どようび にちようび",
    "en": "Mon Tue Wed Thu Fri Sat Sun",
    "zh-Hans": "周一 周二 周三 周四 周五 周六 周日",
    "zh-Hant": "週一 週二 週三 週四 週五 週六 週日",
    "ko": "월 화 수 목 금 토 일",
    "vi": "Thứ Hai|Thứ Ba|Thứ Tư|Thứ Năm|Thứ Sáu|Thứ Bảy|Chủ Nhật",
    "tl": "Lunes Martes Miyerkules Huwebes Biyernes Sabado Linggo",
    "ne": "सोमबार मंगलबार बुधबार बिहीबार शुक्रबार शनिबार आइतबार",
    "id": "Senin Selasa Rabu Kamis Jumat Sabtu Minggu",
    "pt-BR": "segunda terça quarta quinta sexta sábado domingo",
    "es": "lunes martes miércoles jueves viernes sábado domingo",
    "my": "တနင်္လာ အင်္ဂါ ဗုဒ္ဓဟူး ကြာသပတေး သောကြာ စနေ တနင်္ဂနွေ",
    "si": "සඳුදා අඟහරුවාදා බදාදා බ්‍රහස්පතින්දා සිකුරාදා සෙනසුරාදා ඉරිදා",
    "th": "วันจันทร์ วันอังคาร วันพุธ วันพฤหัสบดี วันศุกร์ วันเสาร์ วันอาทิตย์",
    "hi": "सोमवार मंगलवार बुधवार गुरुवार शुक्रवार शनिवार रविवार",
    "bn": "সোমবার মঙ্গলবার বুধবার বৃহস্পতিবার শুক্রবার শনিবার রবিবার",
}
_PATTERNS = {
    "ja": "{y}年{m}月{d}日({wd})",
    "ja-easy": "{y}年{m}月{d}日({wd})",
    "zh-Hans": "{y}年{m}月{d}日({wd})",
    "zh-Hant": "{y}年{m}月{d}日({wd})",
    "ko": "{y}년 {m}월 {d}일 ({wd})",
    "en": "{wd} {d} {month} {y}",
    "vi": "{wd}, {dd}/{mm}/{y}",
    "tl": "{wd}, {month} {d}, {y}",
    "ne": "{y} {month} {d} ({wd})",
    "id": "{wd}, {d} {month} {y}",
    "pt-BR": "{wd}, {dd}/{mm}/{y}",
    "es": "{wd} {dd}/{mm}/{y}",
    "my": "{y} {month} {d} ({wd})",
    "si": "{y} {month} {d} ({wd})",
    "th": "{wd} {d} {month} {y}",
    "hi": "{wd}, {d} {month} {y}",
    "bn": "{wd}, {d} {month} {y}",
}
_DECIMAL_COMMA = {"vi", "id", "pt-BR", "es"}


def _names(table: dict[str, str], locale: str) -> list[str]:
    raw = table.get(locale) or table["en"]
    return raw.split("|") if "|" in raw else raw.split()


def format_date(value: date, locale: str) -> str:
    pattern = _PATTERNS.get(locale, _PATTERNS["en"])
    return pattern.format(
        y=value.year, m=value.month, d=value.day, mm=f"{value.month:02d}", dd=f"{value.day:02d}",
        month=_names(_MONTHS, locale)[value.month - 1], wd=_names(_WEEKDAYS, locale)[value.weekday()],
    )


def date_regex(locale: str) -> str:
    """A regular expression (no groups) for what `format_date(…, locale)` writes."""
    names = {"month": _names(_MONTHS, locale), "wd": _names(_WEEKDAYS, locale)}
    fields = {"y": r"\d{4}", "m": r"\d{1,2}", "d": r"\d{1,2}", "mm": r"\d{2}", "dd": r"\d{2}",
              **{k: "(?:" + "|".join(re.escape(n) for n in v) + ")" for k, v in names.items()}}
    parts = re.split(r"({\w+})", _PATTERNS.get(locale, _PATTERNS["en"]))
    return "".join(fields[p[1:-1]] if p.startswith("{") else re.escape(p) for p in parts)


def format_number(value: int | float, locale: str) -> str:
    text = f"{value:,}" if isinstance(value, int) or float(value).is_integer() else f"{value:,.1f}"
    if isinstance(value, float) and value.is_integer():
        text = f"{int(value):,}"
    if locale in _DECIMAL_COMMA:
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text
