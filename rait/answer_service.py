"""One engine per model for every method's answers (issue 26): a service that loads the model's base once and
answers each method's prediction job with it, switching adapters.

Why a service. Every method of a model answers its test questions in a job of its own (rule ``predict_answers``),
so that asking for one method's evaluation answers only that method and a changed method reruns alone. Loading
the engine in each of those jobs loads the same base once per method and test set (42 vLLM starts of a 16 GB
model for ``llama3_8b``'s 21 methods on two test sets). Snakemake's service jobs keep those jobs and give them
one engine: rule ``serve_engine`` runs this module's ``serve`` over the model's base; every ``predict_answers``
job whose checkpoint is the base or an adapter over it (``Plan.answers_through_engine``) reads the service's
address file, so Snakemake runs them as one group with the service (on one node under SLURM), starts the service
with them and stops it when the last one has answered. A job sends its settings and file names and waits; the
service answers jobs one at a time (one engine) exactly as the job would have (``rait.answering.answer``, the
adapter merged into the base as ``rait.checkpoints.load_causal_lm`` merges it, or a vLLM ``LoRARequest``), writes
the predictions atomically and logs into the job's log. A job that is not over the base (a stage trained in full,
an adapter over CRaFT's rehearsal stage) answers with its own engine as before.

A failed job fails its whole group, and Snakemake then removes the outputs of every job of the group, the
predictions already written among them. So that a rerun does not answer them all again, the service keeps a copy of
each job it answered in the model's answer cache (``results/engines/{model}.answered/``, keyed by the job's settings
and its input files' modification times, as a sampling part file is keyed) and answers a job it finds there from
the copy. A job answered by an engine of its own goes through the same cache (``answer_on_own_engine``). The cache
is safe to delete.

Snakemake runs every job that reads a service's output whenever the service runs (a service output is always
missing, so each reader counts as having an updated input): when one method's answers are new, every other
prediction over the same base in the run's targets is planned again too. Each is then answered from the model's
answer cache below, a copy; its evaluation, and a judge's verdicts on it, are redone. A prediction reads the service
whether or not its file exists: one that read it only while missing had a different set of inputs once written, and
Snakemake's input trigger then planned it again on the next run (seen on a toy workflow), which is worse.

The address file (the service output) says the state: ``starting`` (with the process id), ``ready`` (a port on
127.0.0.1 and a token), or ``failed`` (the error); a job waiting for a service that died while starting, or that
refuses a connection while its process is gone, fails naming the service's log instead of waiting forever.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import socket
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from rait.errors import BAD_INPUT_EXIT, RaitError
from rait.io import atomic_open, atomic_path

log = logging.getLogger(__name__)

# how long a job accepts an address file whose process is gone before it fails: a file left by a killed run is
# replaced by the new service within a second or two of the group's start
STALE_GRACE_S = 30.0
POLL_S = 0.5


def write_state(address: str | os.PathLike, state: dict) -> None:
    with atomic_open(address) as handle:
        json.dump({**state, "pid": os.getpid(), "host": socket.gethostname()}, handle)


def read_state(address: str | os.PathLike) -> dict | None:
    try:
        return json.loads(Path(address).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _alive(state: dict) -> bool:
    if state.get("host") != socket.gethostname():
        return True  # another node's process: not ours to judge (Snakemake keeps a group on one node)
    try:
        os.kill(int(state["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _send(conn: socket.socket, message: dict) -> None:
    conn.sendall((json.dumps(message) + "\n").encode())


def _receive(conn: socket.socket) -> dict:
    with conn.makefile("rb") as stream:
        line = stream.readline()
    if not line.endswith(b"\n"):
        raise ConnectionError("connection closed before a whole message")
    return json.loads(line)


class JobLog:
    """The service's log records of one job, also written to that job's own log file."""

    def __init__(self, path: str | None):
        self.handler = logging.FileHandler(path, encoding="utf-8") if path else None

    def __enter__(self):
        if self.handler:
            root = logging.getLogger()
            self.handler.setFormatter(root.handlers[0].formatter if root.handlers else None)
            root.addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        if self.handler:
            logging.getLogger().removeHandler(self.handler)
            self.handler.close()


def cache_dir_of(address: str | os.PathLike) -> Path:
    """The service's cache of answered jobs, beside its address file."""
    address = Path(address)
    return address.with_name(f"{address.stem}.answered")


def cache_key(job: dict) -> str:
    """What a job's predictions depend on: its settings, its questions and the files it reads, digested as a
    sampling part file's key is (rait.sampling.job_digest)."""
    from rait.sampling import job_digest

    return job_digest(job["params"], [job["questions"], *job.get("inputs", [])])[:32]


def serve(address: str | os.PathLike, load, answer, *, parent: int | None = None, stop=None,
          service_log: str | None = None) -> None:
    """Load the engine (``load()``), publish the address, then answer jobs (``answer(job, engine)``) until
    terminated, until the process that started it is gone (``parent``: no service outlives its Snakemake) or
    until ``stop`` (a threading.Event) is set. ``service_log`` is named to the jobs when it fails."""
    address = Path(address)
    named = {"log": service_log} if service_log else {}
    write_state(address, {"state": "starting", **named})
    try:
        engine = load()
    except Exception as err:
        write_state(address, {"state": "failed", "error": f"{type(err).__name__}: {err}", **named})
        raise
    token = secrets.token_hex(16)
    with socket.create_server(("127.0.0.1", 0), backlog=1024) as server:
        server.settimeout(1.0)
        write_state(address, {"state": "ready", "port": server.getsockname()[1], "token": token, **named})
        log.info("serving answers at 127.0.0.1:%d (%s)", server.getsockname()[1], address)
        served = 0
        while (parent is None or os.getppid() == parent) and not (stop is not None and stop.is_set()):
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(None)
                served += _handle(conn, token, engine, answer, cache_dir_of(address))
        log.info("stopping after %d jobs (stopped, or the process that started the service is gone)", served)


def _handle(conn: socket.socket, token: str, engine, answer, cache: Path) -> int:
    try:
        request = _receive(conn)
    except (OSError, ValueError) as err:
        log.warning("a request that could not be read: %s", err)
        return 0
    if not secrets.compare_digest(str(request.get("token", "")), token):
        _send(conn, {"ok": False, "error": "wrong token: another run's address file?"})
        return 0
    job = request["job"]
    started = time.monotonic()
    with JobLog(job.get("log")):
        log.info("answering %s (engine service, pid %d)", job["output"], os.getpid())
        try:
            _answer_with_cache(job, engine, answer, cache)
        except Exception as err:  # the job fails; the service goes on with the others
            log.exception("job %s failed", job["output"])
            reply = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        else:
            reply = {"ok": True, "seconds": round(time.monotonic() - started, 3)}
            log.info("answered %s in %.1f s", job["output"], reply["seconds"])
    try:
        _send(conn, reply)
    except OSError as err:
        log.warning("job %s left before its reply: %s", job["output"], err)
    return 1


def _answer_with_cache(job: dict, engine, answer, cache: Path) -> None:
    import shutil

    cached = cache / f"{cache_key(job)}.jsonl"
    if cached.is_file():
        with atomic_path(job["output"]) as tmp:
            shutil.copyfile(cached, tmp)
        log.info("answered from the model's answer cache (%s): the same job, with the same settings and files, was "
                 "answered before", cached)
        return
    answer(job, engine)
    cache.mkdir(parents=True, exist_ok=True)
    with atomic_path(cached) as tmp:
        shutil.copyfile(job["output"], tmp)


def wait_until_ready(address: str | os.PathLike, service_log: str = "the service's log") -> dict:
    """The ``ready`` state of the address file, waiting while the service starts; a failed or dead service is an
    error naming its log."""
    address = Path(address)
    stale_since = None
    while True:
        state = read_state(address)
        service_log = (state or {}).get("log") or service_log
        if state is not None and state.get("state") == "failed":
            raise RaitError(f"the engine service failed to start ({state.get('error')}); see {service_log}")
        if state is not None and not _alive(state):
            stale_since = stale_since or time.monotonic()
            if time.monotonic() - stale_since > STALE_GRACE_S:
                raise RaitError(f"the engine service (process {state.get('pid')}) is gone before it answered; "
                                f"see {service_log}")
        else:
            stale_since = None
            if state is not None and state.get("state") == "ready":
                return state
        time.sleep(POLL_S)


def answer_through(address: str | os.PathLike, job: dict, service_log: str = "the service's log") -> dict:
    """Have the service at ``address`` answer ``job`` (its params, questions, output and log); its reply."""
    state = wait_until_ready(address, service_log)
    service_log = state.get("log") or service_log
    try:
        with socket.create_connection(("127.0.0.1", int(state["port"]))) as conn:
            _send(conn, {"token": state["token"], "job": job})
            reply = _receive(conn)  # answered in turn: as long as the jobs before this one take
    except (OSError, ValueError) as err:
        raise RaitError(f"the engine service at port {state['port']} did not answer ({err}); see {service_log}") \
            from None
    if not reply.get("ok"):
        raise RaitError(f"the engine service could not answer {job['output']}: {reply.get('error')} "
                        f"(see {service_log})")
    return reply


def params_of(job: dict) -> SimpleNamespace:
    """A job's params as the attributes ``rait.answering.answer`` reads (as a rule's ``snakemake.params``)."""
    return SimpleNamespace(**job["params"])


def answer_on_own_engine(job: dict, cache: str | os.PathLike) -> None:
    """A prediction job that does not read the service (its checkpoint is not over the base, or
    ``evaluation.shared_engine`` is off): answered by an engine of its own, loaded only when the model's answer
    cache lacks the job, and kept in the cache. A job rerun for nothing its answers depend on is then a copy, not
    an engine load."""
    from rait.answering import answer

    _answer_with_cache(job, None, lambda job_, _: answer(params_of(job_), job_["questions"], job_["output"]),
                       Path(cache))


def answer_job(job: dict, engine) -> None:
    """One prediction job on the service's engine (what ``serve`` is given to answer with)."""
    from rait.answering import answer

    answer(params_of(job), job["questions"], job["output"], loaded=engine)


def main(argv: list[str] | None = None) -> None:
    """Rule serve_engine's command. A shell command, not a script: Snakemake stops a service by terminating the
    process it started for a shell command, and has no handle on a script's; the service stops too when the shell
    that started it is gone (``parent``)."""
    parser = argparse.ArgumentParser(prog="python -m rait.answer_service", description=main.__doc__)
    parser.add_argument("--address", required=True, help="the address file (the rule's service output)")
    parser.add_argument("--settings", required=True, help="JSON: weights, engine, engine_options, gpus, sampling, "
                        "lora_rank (rait.plan.Plan.engine_service_settings)")
    parser.add_argument("--log", help="the service's log, named to the jobs when it fails")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True)
    from rait.sampling import load_base_engine

    settings = json.loads(args.settings)
    params = SimpleNamespace(**settings)
    try:
        serve(args.address, lambda: load_base_engine(params, settings["lora_rank"]), answer_job, parent=os.getppid(),
              service_log=args.log)
    except RaitError as err:
        log.error("%s", err)
        sys.exit(BAD_INPUT_EXIT)


if __name__ == "__main__":
    main()
