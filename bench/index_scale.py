"""Resource index at city scale: build time, peak memory and query latency for 50,000 entries.

Budget (DESIGN.md / issue 17): 50,000 entries build in <= 30 s and <= 500 MB, query p99 <= 20 ms.

The entries: the shipped ones (all 17 languages) plus generated municipal entries shaped like
what `python -m bot resources import` writes from a city's open-data list: a Japanese title,
label, answer (address, phone, hours) and keywords, and an English text for one entry in four
(a desk translating its most asked-about places). Names are made from a small made-up vocabulary,
so many entries share words, as facilities of one kind do. Copying the shipped entries 1,000
times instead (what bench/search.py does for 5,000) is not a city: each carries ~10,000
distinct features in 17 languages, and 50,000 of them would be 500 million postings.

Queries: the shipped example sentences of every locale (all 17 scripts) plus Japanese questions
about generated facilities. The baseline printed alongside: the shipped index alone, same run.

    .venv/bin/python bench/index_scale.py [--entries 50000] [--queries 2000] [--json]
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.resources.loader import read_index                     # noqa: E402
from bot.resources.model import Contact, Entry, EntryText, ResourceIndex, Source   # noqa: E402
from bot.resources.search import SearchEngine                   # noqa: E402

BUDGET = {"build_s": 30.0, "peak_memory_mb": 500.0, "p99_ms": 20.0}
# kind of place: (Japanese, romaji keyword, English, category)
KINDS = (("保育園", "hoikuen", "nursery", "childcare"), ("認定こども園", "kodomoen", "early childhood centre", "childcare"),
         ("児童館", "jidokan", "children's hall", "childcare"), ("子育て支援センター", "kosodate shien", "parenting support centre", "childcare"),
         ("小児科クリニック", "shonika", "paediatric clinic", "health"), ("産婦人科", "sanfujinka", "maternity clinic", "pregnancy"),
         ("保健センター", "hoken center", "health centre", "health"), ("出張所", "shutchojo", "branch office", "daily-life"),
         ("図書館", "toshokan", "library", "daily-life"), ("病児保育室", "byoji hoiku", "sick-child care room", "childcare"),
         ("学童クラブ", "gakudo", "after-school club", "childcare"), ("歯科", "shika", "dental clinic", "health"))
TOWN_PARTS = ("桜", "緑", "東", "西", "南", "北", "中央", "本", "旭", "若葉", "青葉", "栄", "富士見", "宮", "川", "山",
              "原", "野", "松", "竹", "梅", "藤", "泉", "平和", "港", "新", "大", "小", "高", "石")
TOWN_ENDS = ("町", "台", "丘", "が丘", "橋", "田", "浜", "沢")
HOURS = ("平日 8:30〜17:00", "月〜土 7:00〜19:00", "平日 9:00〜18:00（祝日を除く）", "火〜日 10:00〜17:00")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50000, help="entries in all, the shipped ones included")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    shipped, problems, _ = read_index(ROOT / "resources")
    if problems:
        print(f"note: the shipped index has {len(problems)} problem(s); measuring it anyway", file=sys.stderr)
    shipped.engine = None
    queries = _queries(shipped, args.queries, args.entries)
    figures = {"machine": _machine(), "budget": BUDGET, "shipped": _measure(shipped, queries)}
    before = _rss_mb()
    large = _city_index(shipped, args.entries)
    # The generated entries are the ResourceIndex itself (what the loader would hold after an
    # import, without its raw files): not the engine's memory, so reported apart.
    figures["generated_entries_rss_mb"] = round(_rss_mb() - before, 1)
    figures["city"] = _measure(large, queries)
    figures["within_budget"] = all(figures["city"][key] <= limit for key, limit in BUDGET.items())
    figures["load_average_after"] = _load()
    print(json.dumps(figures, indent=2) if args.json else _render(figures))
    return 0


def _city_index(shipped: ResourceIndex, size: int) -> ResourceIndex:
    """The shipped entries plus generated municipal ones, `size` in all."""
    entries = dict(shipped.entries)
    texts = {locale: dict(own) for locale, own in shipped.texts.items()}
    rng = random.Random(17)
    for number in range(max(0, size - len(entries))):
        entry, ja, en = _facility(number, rng)
        entries[entry.id] = entry
        texts.setdefault("ja", {})[entry.id] = ja
        if en is not None:
            texts.setdefault("en", {})[entry.id] = en
    return ResourceIndex(entries=entries, texts=texts, words=shipped.words, areas=shipped.areas)


def _facility(number: int, rng: random.Random) -> tuple[Entry, EntryText, EntryText | None]:
    kind_ja, romaji, kind_en, category = KINDS[number % len(KINDS)]
    town = rng.choice(TOWN_PARTS) + rng.choice(TOWN_PARTS) + rng.choice(TOWN_ENDS)
    city = f"city{number % 400:03d}-shi"
    block = f"{rng.randint(1, 5)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号"
    phone = f"0{rng.randint(3, 99)}-{rng.randint(100, 9999)}-{rng.randint(1000, 9999)}"
    hours = rng.choice(HOURS)
    name = f"{town}{kind_ja}"
    entry_id = f"{city}-{romaji.replace(' ', '-')}-{number}"
    entry = Entry(id=entry_id, category=category, scope="municipal", municipality=city, handoff_recommended=False,
                  last_verified="2026-04-01", contacts=(Contact(name=name, phone=phone, hours=hours,
                                                                address=f"{town}{block}"),),
                  sources=(Source(url=f"https://www.{city}.example.jp/opendata", publisher=city, type="municipal"),),
                  keywords=(romaji, town))
    ja = EntryText(title=name, label=name[:20], keywords=(kind_ja, town),
                   answer=f"{name}は{town}{block}にあります。電話 {phone}。受付 {hours}。"
                          f"{kind_ja}の利用や申し込みについて相談できます。")
    en = None
    if number % 4 == 0:
        en = EntryText(title=f"{kind_en.capitalize()} in {town}", label=kind_en[:20], keywords=(kind_en,),
                       answer=f"The {kind_en} is at {town} {block}. Phone {phone}. Open {hours}.")
    return entry, ja, en


def _queries(shipped: ResourceIndex, count: int, size: int) -> list[tuple[str, str]]:
    pool = [(example, locale) for locale, texts in shipped.texts.items()
            for text in texts.values() for example in text.examples]
    rng = random.Random(7)
    rng.shuffle(pool)
    local = []
    for number in range(max(1, count // 4)):        # a quarter asks about generated places
        entry, ja, _ = _facility(rng.randrange(max(1, size)), random.Random(number))
        local.append((f"{entry.contacts[0].name}の電話番号と時間を教えて", "ja"))
    mixed = pool[:count - len(local)] + local
    rng.shuffle(mixed)
    return mixed


def _measure(index: ResourceIndex, queries: list[tuple[str, str]]) -> dict:
    rss_before = _rss_mb()
    peak_reset = _reset_peak()
    started, cpu_started = time.perf_counter(), time.process_time()
    index.engine = SearchEngine.build(index)
    build_s, build_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    peak = _peak_memory_mb()
    gc.collect()
    memory = {"rss_before_build_mb": rss_before, "engine_rss_mb": round(_rss_mb() - rss_before, 1)}
    if peak_reset:              # the build's own peak, above what the process held before it
        memory["build_peak_above_before_mb"] = round(_status_mb("VmHWM") - rss_before, 1)
    for text, locale in queries[:50]:                 # warm up
        index.search(text, locale)
    times = []
    for text, locale in queries:
        started = time.perf_counter()
        index.search(text, locale, municipality="toshima-ku")
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    postings = len(index.engine.postings.positions)
    return {"entries": len(index.entries), "features": len(index.engine.postings), "postings": postings,
            "queries": len(times), "build_s": round(build_s, 2), "build_cpu_s": round(build_cpu_s, 2),
            "peak_memory_mb": peak, **memory,
            "p50_ms": round(statistics.median(times), 3), "p99_ms": round(times[int(len(times) * 0.99) - 1], 3),
            "max_ms": round(times[-1], 3), "load_average": _load()}


def _machine() -> dict:
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(), "load_average_before": _load()}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _peak_memory_mb() -> float:
    import resource
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)      # Linux: kilobytes


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, from /proc (Linux); 0.0 elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _reset_peak() -> bool:
    """Start VmHWM afresh (Linux: clear_refs 5), so the next phase's own peak can be read."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _render(figures: dict) -> str:
    machine = figures["machine"]
    lines = [f"machine: {machine['platform']}, Python {machine['python']}, {machine['cpu_count']} CPUs, "
             f"load average before {machine['load_average_before']}, after {figures['load_average_after']} "
             f"(a shared machine: other jobs run too)"]
    for key in ("shipped", "city"):
        row = figures[key]
        lines.append(f"{key:8} {row['entries']:>6} entries ({row['features']} features, {row['postings']} postings): "
                     f"built in {row['build_s']:.1f} s ({row['build_cpu_s']:.1f} s CPU), process peak memory "
                     f"{row['peak_memory_mb']:.0f} MB (engine {row['engine_rss_mb']:.0f} MB, build peak "
                     f"+{row.get('build_peak_above_before_mb', 0):.0f} MB over {row['rss_before_build_mb']:.0f} MB); "
                     f"{row['queries']} queries p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, "
                     f"max {row['max_ms']:.2f} ms (load {row['load_average']})")
    lines.append(f"the {figures['city']['entries']} entries themselves (the ResourceIndex): "
                 f"{figures['generated_entries_rss_mb']:.0f} MB")
    lines.append(f"budget at 50,000: build <= {BUDGET['build_s']:.0f} s, <= {BUDGET['peak_memory_mb']:.0f} MB, "
                 f"p99 <= {BUDGET['p99_ms']:.0f} ms: " + ("within budget" if figures["within_budget"] else "OVER BUDGET"))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
