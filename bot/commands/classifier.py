"""`python -m bot classifier train|check`: the learned layer beside the rules (bot/dialogue/classifier.py)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bot.settings import PROJECT_ROOT


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("classifier", help="train or check the text classifier used for triage and routing")
    commands = parser.add_subparsers(dest="classifier_command", required=True)
    train = commands.add_parser("train", help="train from training/*.yaml and the resource index (needs scikit-learn)")
    train.add_argument("--output", type=Path, default=None, help="where to write the model (default: the shipped one)")
    train.set_defaults(func=run_train)
    check = commands.add_parser("check",
                                help="exit 1 when the shipped model was trained from other data than the YAML now")
    check.set_defaults(func=run_check)
    for command in (train, check):
        command.add_argument("--resources", type=Path, default=PROJECT_ROOT / "resources", help=argparse.SUPPRESS)
        command.add_argument("--training", type=Path, default=PROJECT_ROOT / "training", help=argparse.SUPPRESS)


def run_train(args) -> int:
    try:
        from bot.dialogue import classifier_train
    except ImportError as exc:                     # scikit-learn is a training-time dependency only
        print(f"training needs scikit-learn: pip install -e '.[train]' ({exc})", file=sys.stderr)
        return 2
    from bot.dialogue.classifier import MODEL_PATH
    from bot.resources.loader import load_index
    started = time.perf_counter()
    output = args.output or MODEL_PATH
    header = classifier_train.train(load_index(args.resources), args.training, output)
    seconds = time.perf_counter() - started
    print(f"trained in {seconds:.1f} s from {header['samples']['route']} routing and {header['samples']['triage']} "
          f"triage samples ({len(header['training_files'])} training files); digest {header['digest']}; "
          f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB)")
    return 0


def run_check(args) -> int:
    problem = stale_classifier_warning(args.resources, args.training)
    if problem:
        print(problem)
        return 1
    print("classifier: up to date with training/ and the resource index")
    return 0


def stale_classifier_warning(resources_dir: Path, training_dir: Path) -> str | None:
    from bot.dialogue.classifier import load_classifier
    from bot.dialogue.classifier_train import stale_reason
    from bot.resources.loader import load_index
    try:
        model = load_classifier()
    except ValueError as exc:
        return f"training/classifier.bin: {exc}"
    reason = stale_reason(load_index(resources_dir), model, training_dir)
    return f"training/classifier.bin: {reason}" if reason else None
