"""Data sets of the in-context-learning tasks: generated coin-flip and sentiment, or a local file.

An ICL data set is a candidate pool (the K units: demonstrations) and a query set (the targets),
both lists of :class:`Example` with a label index into the format's answer options. Text is
rendered as ``{input_prefix}{text}\\n{output_prefix}`` followed by `` {option}`` (demonstrations)
or nothing (queries). Generators are seeded and balanced by construction; the templates, names and
word lists below are the data set (dataset cards: datasets/icl_coin_flip.md,
datasets/icl_sentiment.md).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.common.spec import SpecError


@dataclass(frozen=True)
class Example:
    text: str
    label: int


@dataclass(frozen=True)
class Format:
    """How examples become prompt text; ``options[label]`` is the answer word."""

    options: tuple[str, ...]
    input_prefix: str
    output_prefix: str
    header: str = ""
    separator: str = "\n\n"

    def query(self, ex: Example) -> str:
        return f"{self.input_prefix}{ex.text}\n{self.output_prefix}"

    def answer(self, label: int) -> str:
        return " " + self.options[label]


COIN_FLIP = Format(options=("no", "yes"), input_prefix="Q: ", output_prefix="A:")
SENTIMENT = Format(options=("negative", "positive"), input_prefix="Review: ",
                   output_prefix="Sentiment:")
FORMATS = {"coin-flip": COIN_FLIP, "sentiment": SENTIMENT}

# 48 given names, mixed by gender and origin; the public coin-flip set also draws from a name list.
NAMES = (
    "Alice", "Bob", "Carmen", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal",
    "Kofi", "Lena", "Mateo", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Samir", "Tara",
    "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Aisha", "Bruno", "Chloe", "Diego",
    "Emma", "Felix", "Gita", "Hassan", "Ivy", "Jonas", "Keiko", "Liam", "Maya", "Nikolai",
    "Olga", "Pedro", "Rahul", "Sofia", "Tomas", "Ursula", "Victor", "Yara",
)

SUBJECTS = ("the movie", "the film", "the plot", "the acting", "the soundtrack", "the dialogue",
            "the ending", "the cast", "the story", "the script", "the direction", "the pacing")
POSITIVE = ("wonderful", "delightful", "excellent", "charming", "brilliant", "enjoyable",
            "superb", "moving", "fantastic", "lovely", "impressive", "gripping")
NEGATIVE = ("awful", "boring", "dreadful", "terrible", "dull", "disappointing", "tedious",
            "clumsy", "painful", "mediocre", "bland", "forgettable")
INTENSIFIERS = ("", "really ", "truly ", "quite ", "absolutely ", "rather ")
FRAMES = ("{S} was {I}{A}.", "I thought {s} was {I}{A}.", "Honestly, {s} felt {I}{A}.",
          "{S} is {I}{A} from start to finish.", "All in all, {s} was {I}{A}.",
          "In my opinion {s} was {I}{A}.")


def coin_flip_example(rng: np.random.Generator, label: int, n_people: int) -> Example:
    """One coin-flip question whose answer is ``label`` (1 = yes, still heads up).

    The coin starts heads up; each person flips it or not; it is still heads up iff the number of
    flips is even. The flip pattern is drawn uniformly among those with the required parity.
    """
    names = rng.choice(len(NAMES), size=n_people, replace=False)
    flips = rng.integers(0, 2, size=n_people)
    if (flips.sum() % 2 == 0) != bool(label):
        flips[rng.integers(n_people)] ^= 1
    acts = [f"{NAMES[i]} flips the coin." if f else f"{NAMES[i]} does not flip the coin."
            for i, f in zip(names, flips, strict=True)]
    return Example(" ".join(["A coin is heads up.", *acts, "Is the coin still heads up?"]), label)


def sentiment_example(rng: np.random.Generator, label: int) -> Example:
    """One templated movie-review sentence with sentiment ``label`` (1 = positive)."""
    words = POSITIVE if label else NEGATIVE
    subject = SUBJECTS[rng.integers(len(SUBJECTS))]
    frame = FRAMES[rng.integers(len(FRAMES))]
    text = frame.format(S=subject[0].upper() + subject[1:], s=subject,
                        I=INTENSIFIERS[rng.integers(len(INTENSIFIERS))],
                        A=words[rng.integers(len(words))])
    return Example(text, label)


def generate(dataset: str, n: int, seed: int, n_people: int = 2) -> list[Example]:
    """``n`` distinct examples with labels alternating 0, 1, 0, ... (balanced), seeded."""
    rng = np.random.default_rng(seed)
    out: list[Example] = []
    seen: set[str] = set()
    tries = 100 * n + 1000
    for _ in range(tries):
        if len(out) == n:
            return out
        label = len(out) % 2
        ex = (coin_flip_example(rng, label, n_people) if dataset == "coin-flip"
              else sentiment_example(rng, label))
        if ex.text not in seen:
            seen.add(ex.text)
            out.append(ex)
    if len(out) == n:
        return out
    raise SpecError(f"invalid config field params.n_candidates/n_queries: only {len(out)} "
                    f"distinct {dataset} examples found in {tries} draws, {n} requested")


def pool_and_queries(dataset: str, K: int, n_queries: int, seed: int, n_people: int = 2
                     ) -> tuple[list[Example], list[Example]]:
    """Generated candidate pool (K) and queries, disjoint texts; both label-balanced and shuffled
    (so the pool's unit index carries no label pattern)."""
    examples = generate(dataset, K + n_queries, seed, n_people)
    pool, queries = _split_balanced(examples, K, n_queries, seed)
    return pool, queries


def load_file(path: str | Path, options: tuple[str, ...], text_field: str = "text",
              label_field: str = "label", label_names: tuple[str, ...] = ()) -> list[Example]:
    """Examples from a local JSON-lines or CSV file in Hugging Face ``datasets`` style.

    One record per line (``.jsonl``/``.json``) or row (``.csv``) with a text column and a label
    column. An integer label indexes ``label_names`` (default: the format's options, e.g. sst2's
    0 = negative, 1 = positive); a string label must be one of the names.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"invalid config field params.data_file: {str(path)!r} is not a file")
    names = tuple(label_names) or options
    if not set(names) <= set(options):
        raise SpecError(f"invalid config field params.label_names: {names} are not all answer "
                        f"options {options}")
    if path.suffix in (".jsonl", ".json"):
        with path.open(encoding="utf-8") as fh:
            records = [json.loads(line) for line in fh if line.strip()]
    elif path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            records = list(csv.DictReader(fh))
    else:
        raise SpecError(f"invalid config field params.data_file: {path.suffix!r} is not .jsonl, "
                        ".json (one record per line) or .csv")
    out = []
    for i, rec in enumerate(records):
        if text_field not in rec or label_field not in rec:
            raise SpecError(f"invalid config field params.text_field/label_field: record {i} of "
                            f"{path.name} has fields {sorted(rec)}")
        raw = rec[label_field]
        if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            raw = int(raw)
        if isinstance(raw, int) and not isinstance(raw, bool):
            if not 0 <= raw < len(names):
                raise SpecError(f"invalid config field params.label_names: label {raw} of "
                                f"record {i} has no name in {names}")
            raw = names[raw]
        if raw not in names:
            raise SpecError(f"invalid config field params.label_names: label {raw!r} of record "
                            f"{i} is not one of {names}")
        out.append(Example(" ".join(str(rec[text_field]).split()), options.index(raw)))
    return out


def split_file(examples: list[Example], K: int, n_queries: int, seed: int
               ) -> tuple[list[Example], list[Example]]:
    """Candidate pool and queries from a file's examples: a seeded, label-balanced draw."""
    return _split_balanced(examples, K, n_queries, seed)


def _split_balanced(examples: list[Example], K: int, n_queries: int, seed: int
                    ) -> tuple[list[Example], list[Example]]:
    """Pool of K then queries, each drawn round-robin over labels from a seeded permutation
    (balanced as far as the data allow), without overlap."""
    if K + n_queries > len(examples):
        raise SpecError(f"invalid config field params.n_candidates/n_queries: {K} + {n_queries} "
                        f"exceed the {len(examples)} examples available")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(examples))
    labels = sorted({ex.label for ex in examples})
    queues = {lab: [i for i in order if examples[i].label == lab] for lab in labels}

    def take(n: int) -> list[Example]:
        picked: list[int] = []
        while len(picked) < n:
            for lab in labels:
                if queues[lab] and len(picked) < n:
                    picked.append(queues[lab].pop(0))
        return [examples[i] for i in rng.permutation(picked)]

    return take(K), take(n_queries)
