"""A small learned layer beside the rules: which entry a message is about, and is it dangerous.

Two linear heads over the same features, trained by `python -m bot classifier train` from the
project's own YAML (training/*.yaml, the index's titles, keywords and examples; see
bot/dialogue/classifier_train.py) and shipped as one small file, `training/classifier.bin`:

- ``route``: one class per resource entry id, fused with the BM25 scores (bot/dialogue/routing.py), so
  everyday wording, typos and romanised Hindi / Nepali / Bengali / Sinhala reach the entry;
- ``triage``: emergency-119, emergency-110, crisis-<kind>, calm, ordinary. A second net after the
  rules: it may RAISE a level when it is confident, never lower one (bot/dialogue/routing.py `assess`).

Features are those of the search (bot/resources/search.py `features`: word tokens and per-script
character n-grams of normalised text), hashed into a fixed number of buckets, so there is no
vocabulary file and unseen words cost nothing, plus the triage SIGNALS the admin's term lists
recognise in the message ("child", "not-breathing", ...: the rules' knowledge of 17 languages,
which the model learns to combine). Inference is numpy only: gather the rows of the message's
buckets, add them, softmax per head (a fraction of a millisecond).

The file is deterministic for the same inputs: a JSON header (labels, sizes, the digest of the
training samples it was trained from) and the weights as float16, zlib-compressed. `flows check`
recomputes the digest and warns when the YAML changed since the model was trained.
"""
from __future__ import annotations

import functools
import json
import math
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.resources.search import query_features
from bot.settings import PROJECT_ROOT

MODEL_PATH = PROJECT_ROOT / "training" / "classifier.bin"
MAGIC = b"BOTCLF1\n"
# Changing how features are made or hashed makes every shipped model stale: bump this.
FEATURE_VERSION = 2
HEADS = ("route", "triage")
# A triage signal found in the message counts this much beside the text's features (whose
# values add up to 1 in length); chosen on cross-validation (training/README.md).
SIGNAL_WEIGHT = 0.3
_SIGNAL_MARK = "\x03"


def text_features(text: str, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """(bucket numbers, values) of a text's features, 1/sqrt(n) each. crc32 is stable across
    processes, unlike Python's hash()."""
    found = {zlib.crc32(feature.encode("utf-8")) % buckets for feature in query_features(text)}
    rows = np.fromiter(found, dtype=np.int64, count=len(found))
    return rows, np.full(len(rows), 1.0 / math.sqrt(len(rows)) if len(rows) else 0.0, dtype=np.float32)


def signal_features(signals: Iterable[str], buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """(bucket numbers, values) of the triage signals found in a message (triage head only)."""
    found = {zlib.crc32((_SIGNAL_MARK + signal).encode("utf-8")) % buckets for signal in signals}
    rows = np.fromiter(found, dtype=np.int64, count=len(found))
    return rows, np.full(len(rows), SIGNAL_WEIGHT, dtype=np.float32)


def feature_vector(text: str, signals: Iterable[str], buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Text and signal features together (a signal bucket shared with a text feature adds up)."""
    rows, values = text_features(text, buckets)
    signal_rows, signal_values = signal_features(signals, buckets)
    merged: dict[int, float] = dict(zip(rows.tolist(), values.tolist()))
    for row, value in zip(signal_rows.tolist(), signal_values.tolist()):
        merged[row] = merged.get(row, 0.0) + value
    return (np.fromiter(merged, dtype=np.int64, count=len(merged)),
            np.fromiter(merged.values(), dtype=np.float32, count=len(merged)))


@dataclass(frozen=True)
class Scores:
    """Probabilities per label of one head, best first."""
    ranked: tuple[tuple[str, float], ...]

    def top(self, n: int = 5) -> tuple[tuple[str, float], ...]:
        return self.ranked[:n]

    def get(self, label: str) -> float:
        return dict(self.ranked).get(label, 0.0)

    def share(self, prefix: str) -> float:
        """Summed probability of the labels starting with ``prefix`` ("emergency-", "crisis-")."""
        return sum(p for label, p in self.ranked if label.startswith(prefix))


class TextClassifier:
    def __init__(self, header: dict, weights: np.ndarray, bias: np.ndarray):
        self.header = header
        self.buckets = int(header["buckets"])
        self.labels = {head: list(header["labels"][head]) for head in HEADS}
        self.digest = header["digest"]
        self._weights = weights            # buckets x (route classes + triage classes), float16
        self._bias = bias                  # float32
        self._split = len(self.labels["route"])

    # ---- inference -------------------------------------------------------------------------------
    def predict(self, text: str, signals: Iterable[str] = ()) -> dict[str, Scores]:
        """{"route": Scores, "triage": Scores}; ``signals``: the triage signals found in the text
        (bot/dialogue/routing.py `signals_in`). Empty text gives the bias alone."""
        rows, values = text_features(text or "", self.buckets)
        logits = self._bias.copy()
        if len(rows):
            logits += values @ self._weights[rows].astype(np.float32)
        signal_rows, signal_values = signal_features(signals, self.buckets)
        if len(signal_rows):                 # the routing head was trained on text alone
            logits[self._split:] += signal_values @ self._weights[signal_rows, self._split:].astype(np.float32)
        return {"route": _ranked(self.labels["route"], logits[:self._split]),
                "triage": _ranked(self.labels["triage"], logits[self._split:])}

    # ---- file ------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> TextClassifier:
        data = Path(path).read_bytes()
        if not data.startswith(MAGIC):
            raise ValueError(f"{path}: not a classifier file; run `python -m bot classifier train`")
        (length,) = struct.unpack_from("<I", data, len(MAGIC))
        start = len(MAGIC) + 4
        header = json.loads(data[start:start + length].decode("utf-8"))
        if header.get("feature_version") != FEATURE_VERSION:
            raise ValueError(f"{path}: made with feature version {header.get('feature_version')}, this code uses "
                             f"{FEATURE_VERSION}; run `python -m bot classifier train`")
        raw = zlib.decompress(data[start + length:])
        columns = len(header["labels"]["route"]) + len(header["labels"]["triage"])
        weights = np.frombuffer(raw, dtype="<f2", count=header["buckets"] * columns).reshape(header["buckets"], columns)
        bias = np.asarray(header["bias"], dtype=np.float32)
        return cls(header, weights, bias)

    @staticmethod
    def save(path: Path, header: dict, weights: np.ndarray, bias: np.ndarray) -> None:
        header = {**header, "feature_version": FEATURE_VERSION, "bias": [round(float(b), 5) for b in bias]}
        encoded = json.dumps(header, ensure_ascii=False, sort_keys=True).encode("utf-8")
        body = zlib.compress(np.ascontiguousarray(weights, dtype="<f2").tobytes(), 9)
        Path(path).write_bytes(MAGIC + struct.pack("<I", len(encoded)) + encoded + body)


def _ranked(labels: list[str], logits: np.ndarray) -> Scores:
    shifted = np.exp(logits - logits.max())
    probabilities = shifted / shifted.sum()
    order = np.argsort(-probabilities, kind="stable")
    return Scores(tuple((labels[i], float(probabilities[i])) for i in order))


def load_classifier(path: Path = MODEL_PATH) -> TextClassifier | None:
    """The shipped model, or None when there is none (the bot then runs on rules and search alone)."""
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        return None
    return _load_unchanged(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _load_unchanged(path: str, mtime_ns: int, size: int) -> TextClassifier:
    """A model is read-only once loaded: services built again in one process (tests build one per
    test) share it instead of inflating 41 MB each time; a retrained file has a new stamp."""
    return TextClassifier.load(Path(path))
