"""Sampling with transformers, for machines without vLLM: one encoding per prompt, a decode loop of our own.

Per batch of prompts (prompts sorted by length, so a batch holds prompts of similar length and little padding;
batches sized by ``token_budget``): one forward pass encodes the left-padded prompts; its key-value cache and last
logits are then repeated for the greedy answer and the n samples of each prompt, so a prompt is encoded once, not
n + 1 times as ``generate(num_return_sequences=n)`` plus a greedy call would. The decode loop feeds one token per
row and step and drops a row from the batch (``DynamicCache.batch_select_indices``) as soon as it ends.

Sampling is temperature then nucleus (top-p): the smallest set of most probable tokens whose probability reaches
``top_p``, renormalised. The candidates are found among the ``top_k_prefilter`` most probable tokens (a partial
sort, instead of sorting the whole vocabulary at every step); a row whose nucleus does not fit in them is sorted in
full, so the result is the exact nucleus either way. Greedy rows take the argmax.

Seeds. Each sample draws its random numbers from its own generator, keyed by the base seed, the prompt's token
ids and the sample's index (``row_seed``), and picks its token by inverse transform sampling: a question's
samples do not depend on which other questions share its batch, on the batch size, on the order of the prompts
or on how a split is sharded. What can still move a sample is the arithmetic: the logits of a row are computed in
a batch whose padding depends on its neighbours, and a last-digit difference can tip a draw that lies exactly on
a boundary between two tokens.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import time

from rait.errors import RaitError
from rait.sampling import Generation, SamplingSpec, truncate_at_stop

log = logging.getLogger(__name__)

_SEED_MASK = 2**63 - 1


def left_padded(torch, prompts: list[list[int]], pad_id: int, device):
    """Token ids of unequal length as one batch, padded on the left, with the attention mask."""
    width = max(len(ids) for ids in prompts)
    input_ids = [[pad_id] * (width - len(ids)) + ids for ids in prompts]
    mask = [[0] * (width - len(ids)) + [1] * len(ids) for ids in prompts]
    return torch.tensor(input_ids, device=device), torch.tensor(mask, device=device)


def row_seed(base: int, token_ids: list[int], sample: int) -> int:
    """The seed of one sample of one prompt: stable across processes, batches and shards."""
    digest = hashlib.blake2b(repr((int(base), list(token_ids), int(sample))).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & _SEED_MASK


def length_batches(prompts: list[list[int]], rows_per_prompt: int, max_new_tokens: int, token_budget: int,
                   max_prompts: int | None = None) -> list[list[int]]:
    """Prompt indices in batches of similar length: sorted by length, each batch as large as fits in
    ``token_budget`` rows x (its longest prompt + ``max_new_tokens``) tokens, at least one prompt."""
    order = sorted(range(len(prompts)), key=lambda i: (len(prompts[i]), i))
    batches, current = [], []
    for index in order:
        width = len(prompts[index]) + max_new_tokens  # sorted: the newest prompt is the longest
        over_budget = (len(current) + 1) * rows_per_prompt * width > token_budget
        if current and (over_budget or (max_prompts and len(current) >= max_prompts)):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def nucleus_sample(torch, logits, temperature: float, top_p: float, uniforms, prefilter: int):
    """One token per row: temperature, then the exact top-p nucleus, drawn by inverse transform with ``uniforms``
    (one number in [0, 1) per row)."""
    probs = torch.softmax(logits / temperature, dim=-1)
    top, ids = torch.topk(probs, min(prefilter, probs.shape[-1]), dim=-1)  # most probable first
    tokens = _draw(torch, top, ids, top_p, uniforms)
    short = top.sum(-1) < top_p
    if bool(short.any()):  # their nucleus is wider than the prefilter: sort those rows' whole vocabulary
        full, full_ids = torch.sort(probs[short], dim=-1, descending=True)
        tokens[short] = _draw(torch, full, full_ids, top_p, uniforms[short])
    return tokens


def _draw(torch, sorted_probs, ids, top_p: float, uniforms):
    """Inverse transform sampling over the nucleus of probabilities sorted high to low: a token stays while the
    mass before it is below ``top_p`` (the smallest prefix that reaches it; the first token always stays)."""
    kept = sorted_probs * ((sorted_probs.cumsum(-1) - sorted_probs) < top_p)
    mass = kept.cumsum(-1)
    choice = torch.searchsorted(mass, uniforms.unsqueeze(-1) * mass[:, -1:], right=True)
    # mass stops growing after the nucleus, so the search lands inside it
    return ids.gather(-1, choice.clamp(max=ids.shape[-1] - 1)).squeeze(-1)


class TransformersEngine:
    def __init__(self, model_path: str, batch_size: int | None = None, token_budget: int = 24576,
                 top_k_prefilter: int = 64, dtype: str = "auto", threads: int | None = None, **unused):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from rait.checkpoints import adapter_base, check_adapter_files, is_adapter

        if unused:
            log.info("transformers engine ignores options %s", sorted(unused))
        if threads:
            torch.set_num_threads(threads)
        for name, value, least in (("token_budget", token_budget, 1), ("top_k_prefilter", top_k_prefilter, 1),
                                   ("batch_size", batch_size or 1, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise RaitError(f"transformers engine option {name} must be a whole number >= {least}, got {value!r} "
                                "(config key models.<model>.engine_options)")
        self.torch = torch
        self.max_prompts = batch_size  # an upper bound on prompts per batch besides the token budget (None: none)
        self.token_budget = token_budget
        self.prefilter = top_k_prefilter
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.pad_id = self.tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = self.tokenizer.eos_token_id
        # a LoRA stage stored as an adapter (rait.checkpoints): its base on the device, the adapter merged in by
        # ``use``, the same steps for an engine of one job and for the model's engine service, so that both give
        # the same answers on any device
        adapter = is_adapter(model_path)
        if adapter:
            check_adapter_files(model_path)
        self.base = adapter_base(model_path) if adapter else str(model_path)
        self.model = AutoModelForCausalLM.from_pretrained(self.base, dtype=dtype).to(self.device).eval()
        self.serving = self.base
        self._originals: dict = {}  # the base's weights of every module an adapter was merged into, on the CPU
        if adapter:
            self.use(model_path)
        # transformers renamed the forward's `past_key_values` to `cache` (5.2x); take whichever this one has
        self._cache_arg = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"
        log.info("transformers engine: %s on %s, token budget %d, top-k prefilter %d", model_path, self.device,
                 token_budget, top_k_prefilter)

    @property
    def causal_lm(self):
        """(model, tokenizer, device) as this engine serves now (the adapter merged in): what R-Tuning's follow-up
        scores continuations with (rait.followup), instead of loading the checkpoint a second time."""
        return self.model, self.tokenizer, self.device

    def use(self, checkpoint: str) -> None:
        """Generate with ``checkpoint`` from now on: the full checkpoint this engine loaded, or an adapter over it
        (rait.checkpoints). The base's weights are restored first and the adapter merged into them as
        ``load_causal_lm`` merges it, so an answer does not depend on which adapters were served before."""
        from rait.checkpoints import adapter_over, same_checkpoint

        checkpoint = str(checkpoint)
        if same_checkpoint(checkpoint, self.serving):
            return
        over_base = adapter_over(checkpoint, self.base, "transformers engine")
        for name, weight in self._originals.items():
            self.model.get_submodule(name).weight.data.copy_(weight)
        if over_base:
            self._merge(checkpoint)
        self.serving = checkpoint
        log.info("transformers engine: serving %s", checkpoint)

    def _merge(self, adapter: str) -> None:
        from peft import PeftModel

        wrapped = PeftModel.from_pretrained(self.model, adapter)
        for name, module in wrapped.base_model.model.named_modules():
            layer = getattr(module, "base_layer", None)
            if layer is not None and name not in self._originals:
                self._originals[name] = layer.weight.detach().to("cpu", copy=True)
        self.model = wrapped.merge_and_unload().eval()

    def _stops(self, stop: tuple[str, ...]) -> tuple[set[int], list[str]]:
        """Stop strings that are one token end a row as extra eos ids; the others are matched in the text."""
        eos = self.tokenizer.eos_token_id
        ids = {eos} if eos is not None else set()
        strings = []
        for marker in stop:
            encoded = self.tokenizer.encode(marker, add_special_tokens=False)
            if len(encoded) == 1 and self.tokenizer.decode(encoded) == marker:
                ids.add(encoded[0])
            else:
                strings.append(marker)
        return ids, strings

    def generate(self, prompts: list[list[int]], spec: SamplingSpec, progress: bool = True,
                 on_batch=None) -> list[Generation]:
        """One Generation per prompt, in input order; ``on_batch(indices, generations)`` after each batch."""
        from rait.progress import progress as logged

        rows_per_prompt = 1 + spec.n
        longest = max((len(ids) for ids in prompts), default=0)
        if rows_per_prompt * (longest + spec.max_new_tokens) > self.token_budget:
            raise RaitError(f"transformers engine: token_budget {self.token_budget} is smaller than one prompt's "
                            f"{rows_per_prompt} rows x ({longest} prompt + {spec.max_new_tokens} new) tokens; raise "
                            "models.<model>.engine_options.token_budget")
        batches = length_batches(prompts, rows_per_prompt, spec.max_new_tokens, self.token_budget, self.max_prompts)
        results: list[Generation | None] = [None] * len(prompts)
        started, produced = time.monotonic(), 0
        for indices in logged(batches, desc=f"sampling {len(prompts)} prompts", unit="batch", logger=log,
                              enabled=progress):
            generations, tokens = self._generate_batch([prompts[i] for i in indices], spec)
            produced += tokens
            for index, generation in zip(indices, generations):
                results[index] = generation
            if on_batch:
                on_batch(indices, generations)
        elapsed = max(time.monotonic() - started, 1e-9)
        log.info("transformers engine: %d prompts in %d batches, %d new tokens in %.1f s (%.1f tokens/s)",
                 len(prompts), len(batches), produced, elapsed, produced / elapsed)
        return results

    def _generate_batch(self, prompts: list[list[int]], spec: SamplingSpec) -> tuple[list[Generation], int]:
        torch = self.torch
        k = 1 + spec.n
        eos_ids, stop_strings = self._stops(spec.stop)
        input_ids, mask = left_padded(torch, prompts, self.pad_id, self.device)
        with torch.inference_mode():
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=True,
                             logits_to_keep=1)
            cache = self._cache_of(out)
            cache.batch_repeat_interleave(k)
            logits = out.logits[:, -1, :].float().repeat_interleave(k, dim=0)
            mask = mask.repeat_interleave(k, dim=0)
            next_position = positions[:, -1:].repeat_interleave(k, dim=0) + 1
            rows = len(prompts) * k
            greedy = torch.tensor([row % k == 0 for row in range(rows)], device=self.device)
            uniforms = torch.zeros(rows, max(spec.max_new_tokens, 1), device=self.device)
            for row in range(rows):
                if row % k:
                    generator = torch.Generator().manual_seed(row_seed(spec.seed, prompts[row // k], row % k - 1))
                    uniforms[row] = torch.rand(spec.max_new_tokens, generator=generator).to(self.device)
            active = torch.arange(rows, device=self.device)  # which original row each batch row is
            generated: list[list[int]] = [[] for _ in range(rows)]
            eos = torch.tensor(sorted(eos_ids), device=self.device, dtype=torch.long)
            for step in range(spec.max_new_tokens):
                tokens = logits.argmax(-1)
                sampled = ~greedy[active]
                if spec.n and bool(sampled.any()):
                    tokens[sampled] = nucleus_sample(torch, logits[sampled], spec.temperature, spec.top_p,
                                                     uniforms[active[sampled], step], self.prefilter)
                finished = torch.isin(tokens, eos) if len(eos) else torch.zeros_like(tokens, dtype=torch.bool)
                for position, (row, token) in enumerate(zip(active.tolist(), tokens.tolist())):
                    if not finished[position]:
                        generated[row].append(token)
                if stop_strings:
                    finished |= torch.tensor([self._stopped(generated[row], stop_strings) for row in active.tolist()],
                                             device=self.device)
                if step == spec.max_new_tokens - 1 or bool(finished.all()):
                    break
                keep = (~finished).nonzero().squeeze(-1)
                if len(keep) < len(active):
                    cache.batch_select_indices(keep)
                    active, mask, next_position, tokens = active[keep], mask[keep], next_position[keep], tokens[keep]
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=-1)
                out = self.model(input_ids=tokens.unsqueeze(-1), attention_mask=mask, position_ids=next_position,
                                 use_cache=True, logits_to_keep=1, **{self._cache_arg: cache})
                cache = self._cache_of(out)
                logits = out.logits[:, -1, :].float()
                next_position = next_position + 1
        texts = [truncate_at_stop(self.tokenizer.decode(ids, skip_special_tokens=True), spec.stop) for ids in generated]
        generations = [Generation(texts[i * k], texts[i * k + 1: (i + 1) * k]) for i in range(len(prompts))]
        return generations, sum(len(ids) for ids in generated)

    @staticmethod
    def _cache_of(out):
        cache = getattr(out, "cache", None)
        return cache if cache is not None else out.past_key_values

    def _stopped(self, ids: list[int], stop_strings: list[str]) -> bool:
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        return any(marker in text for marker in stop_strings)
