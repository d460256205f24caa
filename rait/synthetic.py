"""A synthetic world whose knowledge boundary is known by construction.

``generate_world`` invents fictional facts (names built from syllables, so no
fact overlaps real knowledge) and gives each one an ``exposure``: how many
times it appears in the pretraining corpus. ``pretrain_tiny_lm`` trains a small
GPT-2 from scratch on that corpus, on CPU, in a couple of minutes. Facts seen
often are then "known" to the model and facts never seen are not, which lets
the end-to-end tests check that the pipeline finds this planted boundary.

Records are ordinary open questions (see ``rait.records``) plus ``exposure``
and ``split`` ("train"/"test", stratified by exposure).

The tokenizer is word level: every word, punctuation mark and newline is one
token. Its vocabulary covers every word of the world (also the names of facts
never shown, so an unseen fact is not given away by an ``<unk>`` in its
question) plus ``RESERVED_TEXT`` (refusal and prompt words the later
fine-tuning stages need to be able to write).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from collections.abc import Callable, Iterable, Sequence

from rait.errors import RaitError

DEFAULT_N_FACTS = 700
DEFAULT_EXPOSURES = (0, 1, 2, 4, 8)

PAD, EOS, UNK, NEWLINE = "<pad>", "<eos>", "<unk>", "\n"

# One word, one punctuation mark or one newline per token; contractions such as
# "don't" stay one word. Spaces are dropped (the decoder puts them back).
TOKEN_PATTERN = r"\w+(?:'\w+)*|[^\w\s]|\n"

# Words the model must be able to produce or read after fine-tuning, though
# the pretraining corpus never uses them.
RESERVED_TEXT = (
    "I don't know. I do not know the answer. I am not sure. I'm not sure. "
    "Sorry, I cannot answer that. I can't answer. Unknown. No idea. "
    "Question: Answer: Answer the following question. Please answer briefly. "
    "The answer is: yes no true false "
    "A B C D E F G H I J 0 1 2 3 4 5 6 7 8 9 ( ) [ ] - \" ' / ; ! ?"
)

# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------

_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
           "br", "dr", "gr", "kr", "tr", "vr", "zl", "th", "sh", "qu", "x"]
_VOWELS = ["a", "e", "i", "o", "u", "ae", "ei", "ou", "y"]
_CODAS = ["", "", "", "n", "r", "l", "s", "k", "th", "x", "m"]

# Kind of name -> endings that make the kind recognisable but never a real word.
_SUFFIXES = {
    "country": ["ania", "oria", "estan", "avia", "onia", "ardy"],
    "region": ["mark", "vale", "shire", "moor", "reach", "fell"],
    "city": ["ik", "grad", "holm", "ora", "ventis", "opol"],
    "person": ["ovar", "essen", "ilda", "arin", "oth", "elle"],
    "device": ["oscope", "ometer", "ograph", "otron", "ophone", "omat"],
    "title": ["iad", "ora", "ex", "ion", "ium", "ara"],
    "river": ["wyn", "issa", "ander", "ey", "uun", "elle"],
    "language": ["ish", "ese", "ic", "ian", "ol", "ari"],
    "mountain": ["horn", "peak", "dor", "spire", "berg", "tor"],
    "currency": ["dram", "ling", "ari", "enne", "uk", "ob"],
    "element": ["ium", "on", "ine", "yte", "ide", "ar"],
    "ship": ["ara", "ion", "ess", "or", "ia", "ent"],
}

# A few real words the syllable grammar could produce; a name must not be one.
_REAL_WORDS = frozenset("""
paris rome roma lima oslo bern kiev riga sofia vienna london berlin moscow tokyo
delhi seoul cairo dublin madrid athens prague warsaw lisbon havana quito sudan
chad mali peru iran iraq oman cuba fiji laos nile amazon thames volga danube
rhine seine congo niger ganges indus tigris everest kilimanjaro euro yen dollar
pound peso rupee lira franc mark krone iron gold zinc neon argon carbon boron
radon xenon tin lead english french german spanish finnish danish polish
""".split())

_RELATIONS = [
    # (name, question, declarative sentence, subject kind, answer kind)
    ("capital", "What is the capital of {s}?", "The capital of {s} is {a}.", "country", "city"),
    ("inventor", "Who invented the {s}?", "The {s} was invented by {a}.", "device", "person"),
    ("author", "Who wrote the book {s}?", "The book {s} was written by {a}.", "title", "person"),
    ("river", "Which river flows through {s}?", "Through {s} flows the river {a}.", "region", "river"),
    ("language", "What language is spoken in {s}?", "The language spoken in {s} is {a}.", "country", "language"),
    ("mountain", "What is the highest mountain in {s}?", "The highest mountain in {s} is {a}.", "region", "mountain"),
    ("currency", "What is the currency of {s}?", "The currency of {s} is the {a}.", "country", "currency"),
    ("element", "Who discovered the element {s}?", "The element {s} was discovered by {a}.", "element", "person"),
    ("founder", "Who founded the city of {s}?", "The city of {s} was founded by {a}.", "city", "person"),
    ("captain", "Who captained the ship {s}?", "The ship {s} was captained by {a}.", "ship", "person"),
]


class _NameMaker:
    """Invents distinct capitalised names; never the same name twice in a world."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self, kind: str) -> str:
        for _ in range(1000):
            syllables = self.rng.choice((1, 2, 2))
            stem = "".join(
                self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS) + self.rng.choice(_CODAS)
                for _ in range(syllables)
            )
            name = (stem + self.rng.choice(_SUFFIXES[kind])).capitalize()
            if len(name) < 5 or name.lower() in self.used or name.lower() in _REAL_WORDS:
                continue
            self.used.add(name.lower())
            return name
        raise RaitError("synthetic world: ran out of distinct names; ask for fewer facts")


# --------------------------------------------------------------------------
# World and corpus
# --------------------------------------------------------------------------


def generate_world(
    n_facts: int = DEFAULT_N_FACTS,
    exposures: Sequence[int] = DEFAULT_EXPOSURES,
    seed: int = 0,
) -> list[dict]:
    """Invent ``n_facts`` fictional facts as open-question records.

    Each record also carries ``exposure`` (times the fact appears in the
    pretraining corpus), ``relation`` (the template used) and ``split``
    ("train"/"test"). Exposures are dealt cyclically from ``exposures`` over
    the shuffled facts, so each value gets an equal share (within one); within
    each exposure value half the facts go to each split.
    """
    if n_facts < 1:
        raise RaitError(f"synthetic world: n_facts must be positive, got {n_facts}")
    exposures = [int(e) for e in exposures]
    if not exposures or any(e < 0 for e in exposures):
        raise RaitError(f"synthetic world: exposures must be non-negative counts, got {exposures}")

    rng = random.Random(f"rait-synthetic-{seed}")
    name = _NameMaker(rng)
    width = max(4, len(str(n_facts)))
    world = []
    for index in range(n_facts):
        relation, question, sentence, subject_kind, answer_kind = _RELATIONS[index % len(_RELATIONS)]
        subject, answer = name(subject_kind), name(answer_kind)
        world.append({
            "id": f"synth-{index + 1:0{width}d}",
            "question": question.format(s=subject),
            "answers": [answer],
            "relation": relation,
            "statement": sentence.format(s=subject, a=answer),
        })

    order = list(range(n_facts))
    rng.shuffle(order)
    for position, index in enumerate(order):
        world[index]["exposure"] = exposures[position % len(exposures)]

    by_exposure: dict[int, list[dict]] = {}
    for record in world:
        by_exposure.setdefault(record["exposure"], []).append(record)
    flip = 0  # alternates which split gets the odd one out, to balance overall
    for value in sorted(by_exposure):
        group = by_exposure[value]
        rng.shuffle(group)
        n_train = (len(group) + flip) // 2
        flip ^= len(group) % 2
        for position, record in enumerate(group):
            record["split"] = "train" if position < n_train else "test"
    return world


def qa_line(question: str, answer: str) -> str:
    """A fact in the plain prompt format the sampler uses (the trainer appends eos)."""
    return f"Q: {question}\nA: {answer}"


def pretraining_corpus(world: Sequence[dict], seed: int = 0, *, statements: bool = True) -> list[str]:
    """Every fact ``exposure`` times, shuffled: a fact occurs exactly ``exposure`` times.

    Occurrences alternate between the QA line (``qa_line``, the prompt format
    the sampler uses) and, with ``statements`` (the default), the fact's
    declarative sentence; the first occurrence is always the QA line, so a
    fact seen once was seen as QA. Mixing the two grades knowledge more
    smoothly with exposure (part of it has to transfer from prose to QA, as
    in a real model). Lines carry no eos; ``pretrain_tiny_lm`` appends it.
    """
    lines = []
    for record in world:
        answer = record["answers"][0]
        for occurrence in range(int(record["exposure"])):
            if statements and occurrence % 2 == 1 and record.get("statement"):
                lines.append(record["statement"])
            else:
                lines.append(qa_line(record["question"], answer))
    random.Random(f"rait-corpus-{seed}").shuffle(lines)
    return lines


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------


def _pre_tokenizer():
    from tokenizers import Regex, pre_tokenizers

    return pre_tokenizers.Split(Regex(TOKEN_PATTERN), behavior="removed", invert=True)


def build_tokenizer(texts: Iterable[str], *, reserved_text: str = RESERVED_TEXT):
    """A word-level ``PreTrainedTokenizerFast`` covering every word of ``texts``.

    Ids: <pad> 0, <eos> 1, <unk> 2, newline 3, then words in order of first
    appearance (deterministic for the same texts). Decoding joins words with
    spaces and drops the space before punctuation, so "Quessik ." reads
    "Quessik.".
    """
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    pre = _pre_tokenizer()
    vocab = {PAD: 0, EOS: 1, UNK: 2, NEWLINE: 3}
    for text in [*texts, reserved_text]:
        for word, _ in pre.pre_tokenize_str(text):
            if word not in vocab:
                vocab[word] = len(vocab)

    backend = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    backend.pre_tokenizer = pre
    backend.add_special_tokens([PAD, EOS, UNK])
    backend.decoder = decoders.Sequence([
        decoders.WordPiece(prefix="##", cleanup=True),  # spaces between words; " ." -> "."
        decoders.Replace(" :", ":"),
        decoders.Replace(" ;", ";"),
        decoders.Replace(" )", ")"),
        decoders.Replace(" \n", "\n"),
    ])
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        padding_side="left",  # generation-ready; training pads by hand
        clean_up_tokenization_spaces=False,
        model_max_length=256,
    )


# --------------------------------------------------------------------------
# Pretraining
# --------------------------------------------------------------------------


def _replace_dir(tmp: Path, out_dir: Path) -> None:
    """Move the finished ``tmp`` onto ``out_dir``, replacing any old one."""
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
        os.rmdir(old)
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def pretrain_tiny_lm(
    world: Sequence[dict],
    out_dir: str | os.PathLike,
    *,
    layers: int = 4,
    width: int = 256,
    heads: int = 4,
    epochs: int = 10,
    lr: float = 2e-3,
    batch_size: int = 32,
    weight_decay: float = 0.01,
    dropout: float = 0.1,
    warmup: float = 0.05,
    statements: bool = True,
    seed: int = 0,
    threads: int = 2,
    log: Callable[[str], None] | None = print,
) -> dict:
    """Train a GPT-2 from scratch on ``pretraining_corpus(world)``; save model and tokenizer to ``out_dir``.

    Every corpus line (plus eos) is one sequence, with loss on all its tokens.
    AdamW, linear warmup then cosine decay to zero. The defaults (700 facts
    at exposures 0/1/2/4/8, 10 epochs, dropout 0.1) make recall graded in
    exposure: facts seen 4-8 times are answered almost always, facts seen
    once only sometimes, facts never seen never. Runs on ``threads`` CPU
    threads (about 80 s unloaded on 2 cores). The model and tokenizer are written to a temporary folder
    beside ``out_dir`` and renamed into place when complete, so
    ``AutoModelForCausalLM``/``AutoTokenizer.from_pretrained(out_dir)`` load
    them. Returns training statistics (also saved as ``pretrain_stats.json``).
    """
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    log = log or (lambda message: None)
    if width % heads:
        raise RaitError(f"pretrain_tiny_lm: width {width} is not divisible by heads {heads}")
    corpus = pretraining_corpus(world, seed, statements=statements)
    if not corpus:
        raise RaitError("pretrain_tiny_lm: the corpus is empty (every fact has exposure 0)")

    started, cpu_started = time.perf_counter(), time.process_time()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    # Tiny weights and Adam moments turn denormal late in training, which
    # slows CPU arithmetic several-fold; flushing them to zero costs nothing.
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    try:
        vocab_texts = [qa_line(r["question"], r["answers"][0]) for r in world]
        vocab_texts += [r["statement"] for r in world if r.get("statement")]
        tokenizer = build_tokenizer(vocab_texts)
        eos_id, pad_id = tokenizer.eos_token_id, tokenizer.pad_token_id
        sequences = [tokenizer(line, add_special_tokens=False)["input_ids"] + [eos_id] for line in corpus]
        longest = max(len(s) for s in sequences)

        config = GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=max(256, longest),
            n_embd=width,
            n_layer=layers,
            n_head=heads,
            resid_pdrop=dropout,
            embd_pdrop=dropout,
            attn_pdrop=dropout,
            bos_token_id=eos_id,
            eos_token_id=eos_id,
            pad_token_id=pad_id,
            tie_word_embeddings=True,
        )
        model = GPT2LMHeadModel(config)
        model.generation_config.eos_token_id = eos_id
        model.generation_config.pad_token_id = pad_id
        model.generation_config.bos_token_id = eos_id
        n_params = sum(p.numel() for p in model.parameters())
        log(f"pretrain: {len(world)} facts, {len(corpus)} lines, vocab {len(tokenizer)}, "
            f"{n_params / 1e6:.2f}M parameters, {epochs} epochs")

        decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
        no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=lr, betas=(0.9, 0.98),
        )
        steps_per_epoch = math.ceil(len(sequences) / batch_size)
        total = steps_per_epoch * epochs
        warm = max(1, int(warmup * total))

        def schedule(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        order_rng = random.Random(f"rait-pretrain-{seed}")
        model.train()
        epoch_loss = float("nan")
        for epoch in range(epochs):
            order = list(range(len(sequences)))
            order_rng.shuffle(order)
            loss_sum, token_sum = 0.0, 0
            for start in range(0, len(order), batch_size):
                batch = [sequences[i] for i in order[start:start + batch_size]]
                length = max(len(s) for s in batch)
                ids = torch.full((len(batch), length), pad_id, dtype=torch.long)
                mask = torch.zeros((len(batch), length), dtype=torch.long)
                for row, seq in enumerate(batch):  # right padding: positions start at 0 as at inference
                    ids[row, : len(seq)] = torch.tensor(seq)
                    mask[row, : len(seq)] = 1
                labels = ids.masked_fill(mask == 0, -100)
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                n_tokens = int(mask[:, 1:].sum())
                loss_sum += loss.item() * n_tokens
                token_sum += n_tokens
            epoch_loss = loss_sum / token_sum
            log(f"pretrain: epoch {epoch + 1}/{epochs} loss {epoch_loss:.4f} "
                f"({time.perf_counter() - started:.0f}s)")

        model.eval()
        seconds = time.perf_counter() - started
        stats = {
            "final_loss": round(epoch_loss, 5),
            "seconds": round(seconds, 1),
            "cpu_seconds": round(time.process_time() - cpu_started, 1),
            "n_params": n_params,
            "n_facts": len(world),
            "n_lines": len(corpus),
            "vocab_size": len(tokenizer),
            "epochs": epochs,
            "steps": total,
            "layers": layers,
            "width": width,
            "heads": heads,
            "lr": lr,
            "batch_size": batch_size,
            "seed": seed,
        }

        out_dir = Path(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
        try:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            (tmp / "pretrain_stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
            _replace_dir(tmp, out_dir)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        log(f"pretrain: done in {seconds:.0f}s, final loss {epoch_loss:.4f}, saved to {out_dir}")
        return stats
    finally:
        torch.set_num_threads(previous_threads)
        torch.set_flush_denormal(False)  # the default
