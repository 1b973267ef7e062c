"""Training the classifier (bot/dialogue/classifier.py) from the project's own YAML. Needs scikit-learn.

Samples:
- ``training/<locale>.yaml`` (written blind, see training/README.md): emergencies (label
  emergency-119 / emergency-110 by the number they need), crises (crisis-<kind>), calm questions
  with alarming words (triage: calm; route: the entry they expect), and ordinary questions per
  entry (triage: ordinary; route: the entry);
- the resource index in every locale: titles, labels, keywords and examples (route: the entry;
  triage: ordinary) and the entries' shared keywords.
Nothing from eval/ is ever read here: eval/heldout measures, it never teaches.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml

from bot.dialogue.classifier import FEATURE_VERSION, MODEL_PATH, SIGNAL_WEIGHT, TextClassifier, feature_vector
from bot.settings import PROJECT_ROOT

TRAINING_DIR = PROJECT_ROOT / "training"
LOCALES_DIR = PROJECT_ROOT / "locales"
TRIAGE_DIR = PROJECT_ROOT / "flows" / "triage"
# 2^17 buckets: on cross-validation 2^18 gained < 0.5 point of top-1 and doubled the file.
BUCKETS = 1 << 17
# Linear SVMs: regularisation, and the factor that turns their margins into probabilities
# (the softmax temperature with the lowest log-loss); chosen by cross-validation (README).
C_ROUTE, C_TRIAGE = 1.0, 1.0
SCALE_ROUTE, SCALE_TRIAGE = 6.0, 6.0
# The blind training messages look like what parents send; they count more than index examples.
TRAINING_WEIGHT = 2.0
# Index keywords are short and many; they count less than a whole question.
KEYWORD_WEIGHT = 0.5


@dataclass(frozen=True)
class Sample:
    text: str
    label: str
    weight: float = 1.0
    group: str = ""           # where it came from (locale file / index), for cross-validation


def read_training_files(directory: Path = TRAINING_DIR) -> list[dict]:
    """Every complete locale file (training/<locale>.yaml), sorted by name."""
    files = []
    for path in sorted(Path(directory).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("locale"):
            files.append(data)
    return files


def training_texts(directory: Path = TRAINING_DIR) -> list[tuple[str, str]]:
    """(text, locale) of every training message, file by file in the files' order (benches, tools)."""
    found: list[tuple[str, str]] = []
    for data in read_training_files(directory):
        locale = data["locale"]
        for part in ("emergency", "crisis", "calm"):
            found += [(str(item["text"]), locale) for item in data.get(part) or []]
        for texts in (data.get("questions") or {}).values():
            found += [(str(text), locale) for text in texts or []]
    return found


def samples_from_training(files: list[dict], known_ids: set[str]) -> dict[str, list[Sample]]:
    route: list[Sample] = []
    triage: list[Sample] = []
    for data in files:
        group = f"training/{data['locale']}"
        for item in data.get("emergency") or []:
            call = str(item.get("call", "119")).strip()
            triage.append(Sample(str(item["text"]), "emergency-110" if call == "110" else "emergency-119",
                                 TRAINING_WEIGHT, group))
        for item in data.get("crisis") or []:
            triage.append(Sample(str(item["text"]), f"crisis-{item.get('kind') or 'other'}", TRAINING_WEIGHT, group))
        for item in data.get("calm") or []:
            triage.append(Sample(str(item["text"]), "calm", TRAINING_WEIGHT, group))
            if item.get("expect") in known_ids:
                route.append(Sample(str(item["text"]), item["expect"], TRAINING_WEIGHT, group))
        for entry_id, texts in (data.get("questions") or {}).items():
            for text in texts or []:
                triage.append(Sample(str(text), "ordinary", TRAINING_WEIGHT, group))
                if entry_id in known_ids:
                    route.append(Sample(str(text), entry_id, TRAINING_WEIGHT, group))
    return {"route": route, "triage": triage}


def samples_from_index(index) -> dict[str, list[Sample]]:
    route: list[Sample] = []
    triage: list[Sample] = []
    for entry_id, entry in index.entries.items():
        for keyword in entry.keywords:
            route.append(Sample(keyword, entry_id, KEYWORD_WEIGHT, "index"))
        for texts in index.texts.values():
            text = texts.get(entry_id)
            if text is None:
                continue
            for title in filter(None, (text.title, text.label)):
                route.append(Sample(title, entry_id, 1.0, "index"))
            for keyword in text.keywords:
                route.append(Sample(keyword, entry_id, KEYWORD_WEIGHT, "index"))
            for example in text.examples:
                route.append(Sample(example, entry_id, 1.0, "index"))
                triage.append(Sample(example, "ordinary", 1.0, "index"))
    return {"route": route, "triage": triage}


# The bot's own command words in every locale ("my reminders", "stop reminders", "menu"): short
# texts the triage head must know are ordinary, or a command typed alone reads as a panicked
# fragment (a Chinese "我的提醒" was raised to an emergency).
COMMAND_KEYS = ("commands", "reminders.words", "reminders.stop_words", "keywords", "input.yes_words",
                "input.no_words")


def samples_from_commands(locales_dir: Path = LOCALES_DIR) -> dict[str, list[Sample]]:
    triage: list[Sample] = []
    for path in sorted(Path(locales_dir).glob("*.yaml")):
        catalog = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in COMMAND_KEYS:
            triage += [Sample(word, "ordinary", 1.0, "commands") for word in _words_under(catalog, key)]
    return {"route": [], "triage": triage}


def _words_under(catalog: dict, dotted: str) -> list[str]:
    node: object = catalog
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        return [w for value in node.values() if isinstance(value, list) for w in value if isinstance(w, str)]
    return [w for w in node if isinstance(w, str)] if isinstance(node, list) else []


def all_samples(index, training_dir: Path = TRAINING_DIR, locales_dir: Path = LOCALES_DIR) -> dict[str, list[Sample]]:
    from_files = samples_from_training(read_training_files(training_dir), set(index.entries))
    from_index = samples_from_index(index)
    from_commands = samples_from_commands(locales_dir)
    samples = {head: from_files[head] + from_index[head] + from_commands[head] for head in ("route", "triage")}
    # The route head reads what a message asks, as routing gives it (`ResourceIndex.place_apart`):
    # learned with the names, "I live in Matsudo, how do I apply for child allowance?" went to
    # Matsudo's pregnancy page. The triage head reads every word, as the triage does.
    samples["route"] = [replace(s, text=index.place_apart(s.text)[0]) for s in samples["route"]]
    return samples


def digest(samples: dict[str, list[Sample]], triage_dir: Path = TRIAGE_DIR) -> str:
    """What the model was trained from: changes when any sample, label, weight, setting or triage
    term file does (signals are features)."""
    h = hashlib.sha256(json.dumps({"feature_version": FEATURE_VERSION, "buckets": BUCKETS, "c": [C_ROUTE, C_TRIAGE],
                                   "scale": [SCALE_ROUTE, SCALE_TRIAGE], "signal_weight": SIGNAL_WEIGHT,
                                   "training_weight": TRAINING_WEIGHT}).encode())
    for head in sorted(samples):
        for s in samples[head]:
            h.update(f"{head}\x1f{s.label}\x1f{s.weight}\x1f{s.text}\x1e".encode())
    for path in sorted(Path(triage_dir).glob("*.yaml")):
        h.update(path.name.encode() + b"\x1f" + path.read_bytes())
    return h.hexdigest()[:16]


def signal_finder(triage_dir: Path = TRIAGE_DIR):
    """text -> the triage signals found in it, with the rules the bot runs (bot/dialogue/routing.py)."""
    from bot.dialogue.routing import signals_in
    from bot.dialogue.triage_rules import load_triage_rules
    rules = load_triage_rules(triage_dir)
    return functools.lru_cache(maxsize=None)(lambda text: tuple(signals_in(text, rules)))  # both heads share texts


def design_matrix(texts: list[str], signals_of=None, buckets: int = BUCKETS):
    """Sparse rows: exactly the vectors TextClassifier.predict multiplies (bot/dialogue/classifier.py)."""
    from scipy.sparse import csr_matrix
    indptr, indices, values = [0], [], []
    for text in texts:
        rows, vals = feature_vector(text, signals_of(text) if signals_of else (), buckets)
        order = np.argsort(rows)
        indices.extend(rows[order].tolist())
        values.extend(vals[order].tolist())
        indptr.append(len(indices))
    return csr_matrix((np.asarray(values, dtype=np.float64), np.asarray(indices, dtype=np.int64),
                       np.asarray(indptr, dtype=np.int64)), shape=(len(texts), buckets))


def fit_head(samples: list[Sample], c: float, scale: float, balanced: bool = False, signals_of=None,
             buckets: int = BUCKETS):
    """(labels, weights buckets x classes, bias) of a linear SVM (liblinear, deterministic), its
    margins multiplied by ``scale`` so that a softmax of them gives usable probabilities."""
    from sklearn.svm import LinearSVC
    labels = sorted({s.label for s in samples})
    position = {label: i for i, label in enumerate(labels)}
    x = design_matrix([s.text for s in samples], signals_of, buckets)
    y = np.array([position[s.label] for s in samples])
    model = LinearSVC(C=c, class_weight="balanced" if balanced else None, random_state=0)  # liblinear shuffles
    model.fit(x, y, sample_weight=np.array([s.weight for s in samples]))
    return labels, (model.coef_.T * scale).astype(np.float32), (model.intercept_ * scale).astype(np.float32)


def classifier_from(route_head, triage_head, header: dict | None = None) -> TextClassifier:
    """An in-memory model from two fitted heads (training and cross-validation)."""
    (route_labels, route_w, route_b), (triage_labels, triage_w, triage_b) = route_head, triage_head
    header = {"buckets": BUCKETS, "digest": "", **(header or {}),
              "labels": {"route": route_labels, "triage": triage_labels}}
    weights = np.hstack([route_w, triage_w]).astype("<f2")
    return TextClassifier(header, weights, np.concatenate([route_b, triage_b]).astype(np.float32))


def fit_both(samples: dict[str, list[Sample]], signals_of):
    # Signals are features of the triage head only: computing them costs ~1 ms a text.
    return (fit_head(samples["route"], C_ROUTE, SCALE_ROUTE),
            fit_head(samples["triage"], C_TRIAGE, SCALE_TRIAGE, balanced=True, signals_of=signals_of))


def train(index, training_dir: Path = TRAINING_DIR, output: Path = MODEL_PATH, triage_dir: Path = TRIAGE_DIR) -> dict:
    samples = all_samples(index, training_dir)
    route_head, triage_head = fit_both(samples, signal_finder(triage_dir))
    header = {"buckets": BUCKETS, "digest": digest(samples, triage_dir),
              "labels": {"route": route_head[0], "triage": triage_head[0]},
              "samples": {head: len(items) for head, items in samples.items()},
              "training_files": sorted(p.name for p in Path(training_dir).glob("*.yaml"))}
    TextClassifier.save(output, header, np.hstack([route_head[1], triage_head[1]]),
                        np.concatenate([route_head[2], triage_head[2]]))
    return header


def stale_reason(index, model: TextClassifier | None, training_dir: Path = TRAINING_DIR,
                 triage_dir: Path = TRIAGE_DIR) -> str | None:
    """Why the shipped model no longer matches the YAML, or None when it does."""
    if model is None:
        return "no trained classifier (training/classifier.bin); run `python -m bot classifier train`"
    current = digest(all_samples(index, training_dir), triage_dir)
    if current != model.digest:
        return (f"the classifier was trained from other data (model {model.digest}, YAML now {current}); "
                f"run `python -m bot classifier train` and commit training/classifier.bin")
    return None
