"""In-context-learning tasks ``icl-coin-flip`` and ``icl-sentiment``: demonstration attribution.

The KernelSM paper's ICL experiment (benchmarks/papers/kernelsm/REPLICATION.md, methods/METHODS.md
§3.6) on a real causal LM, by inference only (no training, so this is not a RetrainTask and gradient
methods skip it):

* units = K candidate demonstrations (label-balanced, shuffled; datasets/icl_*.md);
* a subset mask = the prompt made of the chosen demonstrations in increasing unit index, after the
  format's header (the paper's design: 4 of K = 50, ``alpha = 0.08``);
* targets = held-out queries; ``loss[t]`` = cross-entropy of query t's gold answer under the
  softmax of the next-token logits restricted to the answer options' first tokens,
  ``correct[t]`` = 1 if the gold option has the highest logit.

Inference is deterministic, so ``evaluate`` ignores seeds and designs use ``n_seeds = 1``; there
are no leave-one-out rows (a 49-demonstration prompt is not part of the paper's design).
Engines: ``batched`` (the prompt's key/value cache reused by a batch of queries; the default) and
``loop`` (one forward pass per (prompt, query)); equal to 1e-5 in float32. Measured at quick
settings on 2 idle cores: batched 15.5 vs loop 2.8 prompt-queries/s on coin-flip, 26.4 vs 5.3
on sentiment (5-5.5x); a quick ground truth (200 prompts x 40 queries, 2 workers) took 8.0 min
(coin-flip) and 4.8 min (sentiment), model loading (~30 s per worker) included.

Profiles: ``tiny`` (random 2-layer Llama, word-level tokenizer, K = 8, prompts of 2, 6 queries;
seconds), ``quick`` (packaged SmolLM2-135M-Instruct, K = 50, prompts of 4, see ``QUICK``), ``paper``
(K = 50, 4 demos, 80 fitting / 120 evaluation prompts as the paper, model
``Qwen/Qwen2-7B`` in bfloat16 on a GPU if present: override with ``--set params.model=...``; not
run here). ``--set params.data_file=path.jsonl`` replaces the generated examples by a local file
in Hugging Face ``datasets`` style (e.g. sst2 saved as JSON lines with
``params.text_field=sentence``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

import benchmarks.common.device as devices
from benchmarks.api.task import Task, register_family
from benchmarks.common.spec import SpecError, SubsetDesign, TaskSpec, param, validate_fields
from benchmarks.tasks.icl import data as icl_data
from benchmarks.tasks.icl import model as icl_model

DATASETS = tuple(icl_data.FORMATS)
DTYPES = ("float32", "bfloat16", "float16", "float64")


@dataclass(frozen=True)
class ICLParams:
    """Data, model and batching of one ICL task (``n_candidates`` = K)."""

    dataset: str = param(help="the task format (label options, templates)", choices=DATASETS)
    model: str = param("packaged:smollm2", "causal LM: 'packaged:smollm2', 'tiny', a Hugging "
                       "Face id or a local folder")
    n_candidates: int = param(50, "candidate demonstrations (= units K)", ge=2)
    n_queries: int = param(40, "held-out queries (the targets)", ge=1)
    data_seed: int = param(0, "seed of the generated examples and the pool/query split", ge=0)
    n_people: int = param(2, "coin-flip: people who flip (or not) the coin per question",
                          ge=1, le=len(icl_data.NAMES))
    data_file: str = param("", "JSON-lines file of examples replacing the generated ones "
                           "('' = generate)")
    text_field: str = param("text", "data_file: the field holding an example's text")
    label_field: str = param("label", "data_file: the field holding an example's label")
    label_names: tuple[str, ...] = param((), "data_file: the answer option of each integer "
                                         "label, in index order (() = the format's options)")
    dtype: str = param("float32", "the model's floating-point type", choices=DTYPES)
    device: str = param("cpu", "where the model runs (auto = cuda if available; cpu follows "
                        "--device)",
                        choices=("cpu", "cuda", "auto"))
    query_batch: int = param(40, "queries per forward pass on one prompt's cache", ge=1)

    def validate(self) -> None:
        validate_fields(self, "params")
        if not self.model:
            raise SpecError("invalid config field params.model: must name a model "
                            "('packaged:smollm2', 'tiny', a Hugging Face id or a local folder)")


class ICLTask(Task):
    """Demonstration attribution for in-context learning; see the module docstring."""

    outputs = ("loss", "correct")
    primary = "loss"
    engine = "batched"

    def __init__(self, spec: TaskSpec, overrides: dict | None = None) -> None:
        super().__init__(spec, overrides)
        self.params: ICLParams = spec.params
        self.params.validate()
        self.spec.design.validate(self.K)

    @functools.cached_property
    def format(self) -> icl_data.Format:
        return icl_data.FORMATS[self.params.dataset]

    @functools.cached_property
    def data(self) -> tuple[list[icl_data.Example], list[icl_data.Example]]:
        """(candidate pool of K demonstrations, queries)."""
        q = self.params
        if q.data_file:
            examples = icl_data.load_file(q.data_file, self.format.options, q.text_field,
                                          q.label_field, q.label_names)
            return icl_data.split_file(examples, q.n_candidates, q.n_queries, q.data_seed)
        return icl_data.pool_and_queries(q.dataset, q.n_candidates, q.n_queries, q.data_seed,
                                         q.n_people)

    @property
    def membership(self) -> np.ndarray:
        return np.eye(self.params.n_candidates, dtype=bool)

    @property
    def K(self) -> int:
        return self.params.n_candidates

    @property
    def n_targets(self) -> int:
        return self.params.n_queries

    @property
    def chance(self) -> float:
        return 1.0 / len(self.format.options)

    def demo_text(self, unit: int) -> str:
        ex = self.data[0][unit]
        return self.format.query(ex) + self.format.answer(ex.label) + self.format.separator

    def prompt_text(self, mask: np.ndarray, query: int | None = None) -> str:
        """The prompt of a subset (header + demonstrations in increasing unit index), and the
        query if given: the text the token ids of :meth:`evaluate` are assembled from."""
        text = self.format.header + "".join(self.demo_text(k) for k in np.flatnonzero(mask))
        return text if query is None else text + self.format.query(self.data[1][query])

    @functools.cached_property
    def lm(self) -> icl_model.LM:
        q = self.params
        vocab = ()
        if q.model == icl_model.TINY:
            pool, queries = self.data
            texts = [self.format.header, *(self.demo_text(k) for k in range(self.K)),
                     *(self.format.query(ex) for ex in queries), *self.format.options]
            vocab = icl_model.tiny_vocab(texts)
        device = devices.current() if q.device == "cpu" else devices.resolve(q.device)
        return icl_model.load(q.model, q.dtype, str(device), vocab, q.data_seed)

    @functools.cached_property
    def tokens(self) -> tuple[list[int], list[list[int]], list[list[int]], list[int]]:
        """Token ids: header, each demonstration, each query, each option's first token. A prompt
        is the concatenation of its pieces' ids (each piece tokenised on its own, so a unit's
        tokens never depend on its neighbours)."""
        lm = self.lm
        return (lm.encode(self.format.header) if self.format.header else [],
                [lm.encode(self.demo_text(k)) for k in range(self.K)],
                [lm.encode(self.format.query(ex)) for ex in self.data[1]],
                lm.option_ids(self.format.options))

    def prefix(self, mask: np.ndarray) -> list[int]:
        header, demos, _, _ = self.tokens
        return header + [t for k in np.flatnonzero(mask) for t in demos[k]]

    def evaluate(self, masks: np.ndarray, seeds: list[int], engine: str = "batched"
                 ) -> dict[str, np.ndarray]:
        """F for each mask (seeds are ignored: inference is deterministic)."""
        masks = np.asarray(masks, dtype=bool).reshape(-1, self.K)
        if len(seeds) != len(masks):
            raise ValueError(f"{len(masks)} masks but {len(seeds)} seeds")
        _, _, queries, options = self.tokens
        gold = np.array([ex.label for ex in self.data[1]])
        loss = np.empty((len(masks), self.n_targets))
        correct = np.empty((len(masks), self.n_targets))
        for b, mask in enumerate(masks):
            logp = self.lm.option_logprobs(self.prefix(mask), queries, options, engine,
                                           self.params.query_batch).numpy()
            loss[b] = -logp[np.arange(len(gold)), gold]
            correct[b] = logp.argmax(1) == gold
        return {"loss": loss, "correct": correct}


QUICK = {"n_queries": 40, "n_fit": 80, "n_eval": 120}


def profile_spec(dataset: str, profile: str) -> TaskSpec:
    """tiny / quick / paper settings (module docstring; evidence: datasets/icl_*.md)."""
    name = f"icl-{dataset}"
    if profile == "tiny":
        return TaskSpec(name, ICLParams(dataset, icl_model.TINY, n_candidates=8, n_queries=6),
                        design=SubsetDesign(alpha=0.25, n_fit=12, n_eval=8, n_seeds=1,
                                            loo=False), profile=profile)
    if profile == "quick":
        return TaskSpec(name, ICLParams(dataset, "packaged:smollm2", n_queries=QUICK["n_queries"]),
                        design=SubsetDesign(alpha=0.08, n_fit=QUICK["n_fit"],
                                            n_eval=QUICK["n_eval"], n_seeds=1, loo=False),
                        profile=profile)
    return TaskSpec(name, ICLParams(dataset, "Qwen/Qwen2-7B", n_queries=100, dtype="bfloat16",
                                    device="auto", query_batch=16),
                    design=SubsetDesign(alpha=0.08, n_fit=80, n_eval=120, n_seeds=1, loo=False),
                    profile=profile)


register_family("icl-coin-flip", ICLTask, functools.partial(profile_spec, "coin-flip"),
                "in-context learning, coin-flip state tracking; units = candidate demonstrations")
register_family("icl-sentiment", ICLTask, functools.partial(profile_spec, "sentiment"),
                "in-context learning, templated movie-review sentiment; units = demonstrations")
