"""Sampling with transformers ``generate``, for machines without vLLM.

Prompts are batched with left padding. Each batch reseeds torch with
``seed + batch index`` so a rerun with the same batch size reproduces every
sample, whatever ran before it in the process.
"""

from __future__ import annotations

import logging

from rait.sampling import Generation, SamplingSpec, truncate_at_stop

log = logging.getLogger(__name__)


def left_padded(torch, prompts: list[list[int]], pad_id: int, device):
    """Token ids of unequal length as one batch, padded on the left, with the attention mask."""
    width = max(len(ids) for ids in prompts)
    input_ids = [[pad_id] * (width - len(ids)) + ids for ids in prompts]
    mask = [[0] * (width - len(ids)) + [1] * len(ids) for ids in prompts]
    return torch.tensor(input_ids, device=device), torch.tensor(mask, device=device)


class TransformersEngine:
    def __init__(self, model_path: str, batch_size: int = 16, dtype: str = "auto", threads: int | None = None, **unused):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if unused:
            log.info("transformers engine ignores options %s", sorted(unused))
        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.batch_size = batch_size
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.pad_id = self.tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = self.tokenizer.eos_token_id
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype).to(self.device).eval()
        log.info("transformers engine: %s on %s, batch size %d", model_path, self.device, batch_size)

    def _stopping(self, stop: tuple[str, ...]) -> dict:
        """Stop strings that are one token end generation as extra eos ids; the rest go to
        transformers' stop-string matcher (which cannot digest every tokenizer's vocabulary,
        e.g. word-level ones, so it is used only where needed)."""
        eos = self.tokenizer.eos_token_id
        eos_ids, strings = [eos] if eos is not None else [], []
        for marker in stop:
            ids = self.tokenizer.encode(marker, add_special_tokens=False)
            if len(ids) == 1 and self.tokenizer.decode(ids) == marker:
                eos_ids.append(ids[0])
            else:
                strings.append(marker)
        options = {"eos_token_id": eos_ids} if eos_ids else {}
        if strings:
            options.update(stop_strings=strings, tokenizer=self.tokenizer)
        return options

    def _decode(self, output, width: int, stop: tuple[str, ...]) -> list[str]:
        texts = self.tokenizer.batch_decode(output[:, width:], skip_special_tokens=True)
        return [truncate_at_stop(text, stop) for text in texts]

    def generate(self, prompts: list[list[int]], spec: SamplingSpec, progress: bool = True) -> list[Generation]:
        from tqdm.auto import tqdm

        common = dict(max_new_tokens=spec.max_new_tokens, pad_token_id=self.pad_id, **self._stopping(spec.stop))
        results: list[Generation] = []
        starts = range(0, len(prompts), self.batch_size)
        for index, start in enumerate(tqdm(starts, desc="sampling", unit="batch", disable=not progress)):
            input_ids, mask = left_padded(self.torch, prompts[start : start + self.batch_size], self.pad_id, self.device)
            width = input_ids.shape[1]
            self.torch.manual_seed(spec.seed + index)
            with self.torch.inference_mode():
                greedy = self.model.generate(input_ids=input_ids, attention_mask=mask, do_sample=False, **common)
                samples = []
                if spec.n:
                    samples = self.model.generate(
                        input_ids=input_ids,
                        attention_mask=mask,
                        do_sample=True,
                        temperature=spec.temperature,
                        top_p=spec.top_p,
                        top_k=0,
                        num_return_sequences=spec.n,
                        **common,
                    )
            greedy_texts = self._decode(greedy, width, spec.stop)
            sample_texts = self._decode(samples, width, spec.stop) if spec.n else []
            for row, text in enumerate(greedy_texts):
                results.append(Generation(text, sample_texts[row * spec.n : (row + 1) * spec.n]))
        return results
