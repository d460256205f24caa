"""A real two-node SLURM cluster on this machine, for ``tests/test_slurm.py``.

``SlurmCluster.start()`` installs SLURM and MUNGE with apt-get when ``slurmctld``
is not on PATH, starts ``munged`` (unless one already answers), writes
``/etc/slurm/slurm.conf`` and ``/etc/slurm/gres.conf`` (the standard paths: the
job steps the executor starts with ``srun`` inside a job read the config from
there, not from a ``SLURM_CONF`` the test might export), starts ``slurmctld``
and one ``slurmd`` per node (``-N rait1``, ``-N rait2``: two slurmd daemons on
one host, each on its own port, spool and log) in the foreground (``-D``) as
children of this process and waits until the nodes are idle. Both nodes are in
two partitions, ``cpu`` (default) and ``gpu``, and each has one GPU as GRES
backed by a placeholder character device (``/dev/rait_gpu0`` on rait1,
``/dev/rait_gpu1`` on rait2): SLURM hands them out and sets
``CUDA_VISIBLE_DEVICES``, torch sees no GPU. Two nodes make multi-node jobs
real: ``sbatch --nodes=2`` gets both, and ``srun`` inside it starts one task
on each.

``stop()`` cancels what is still queued, stops exactly the daemons ``start()``
started (by pid), removes the placeholder devices and puts back any config
files it replaced. Daemons that a crashed earlier session of this module left
running (known by the marker in slurm.conf and the pid files under SPOOL) are
stopped by the next ``start()``.

Refusals (not root, no apt-get, install failed, a SLURM controller already
running here) raise ``ClusterUnavailable`` with the reason, which the fixture
turns into a skip.

Run by hand: ``python tests/slurm_cluster.py`` starts the cluster, runs the
GPU check and stops it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

CONF_DIR = Path("/etc/slurm")
SPOOL = Path("/var/spool/slurm-rait")
MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_SOCKET_DIR = Path("/run/munge")
GPU_DEVICES = [Path("/dev/rait_gpu0"), Path("/dev/rait_gpu1")]  # one per node
CLUSTER_NAME = "rait"
NODES = [f"{CLUSTER_NAME}{index}" for index in range(1, len(GPU_DEVICES) + 1)]
SLURMD_PORT = 17001  # rait1's; rait2's is the next one
MARKER = "# written by rait tests/slurm_cluster.py"
APT_PACKAGES = ["slurm-wlm", "munge"]


class ClusterUnavailable(RuntimeError):
    """SLURM cannot be set up here; the message says why (the tests skip with it)."""


def _run(command: list[str], *, timeout: float = 60, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stdout}{result.stderr}")
    return result


def ensure_installed() -> None:
    """slurmctld, slurmd and munged on PATH, installed with apt-get if missing."""
    if all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "munged", "sbatch")):
        return
    if os.geteuid() != 0:
        raise ClusterUnavailable("SLURM is not installed and installing it needs root")
    if not shutil.which("apt-get"):
        raise ClusterUnavailable("SLURM is not installed and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES]
    result = _run(install, timeout=900, check=False, env=env)
    if result.returncode != 0:  # a stale package index: update once, then again
        _run(["apt-get", "update", "-q"], timeout=600, check=False, env=env)
        result = _run(install, timeout=900, check=False, env=env)
    if result.returncode != 0 or not shutil.which("slurmctld"):
        raise ClusterUnavailable(f"apt-get install {' '.join(APT_PACKAGES)} failed: {result.stderr.strip()[-2000:]}")


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _running(name: str) -> list[int]:
    """Pids of live processes called ``name``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == name and _pid_alive(int(proc.name)):
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


def _stop_pid(pid: int, timeout: float = 15) -> None:
    """SIGTERM, wait, then SIGKILL: only this one process."""
    if not _pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # reap it if it is our child
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            if not _pid_alive(pid):
                return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def node_hardware() -> dict[str, int]:
    """CPUs and RealMemory (MB) of this host, as slurmd sees them."""
    out = _run(["slurmd", "-C"]).stdout
    fields = dict(re.findall(r"(\w+)=(\S+)", out.splitlines()[0]))
    return {"cpus": int(fields["CPUs"]), "memory": int(fields["RealMemory"])}


def slurm_conf(host: str, cpus: int, memory: int) -> str:
    """NODES on this host (``cpus`` and ``memory`` each), partitions cpu (default) and gpu, one GPU per node,
    no accounting, state under SPOOL."""
    nodes = "\n".join(f"NodeName={node} NodeHostname={host} NodeAddr=127.0.0.1 Port={SLURMD_PORT + index} "
                      f"CPUs={cpus} RealMemory={memory} Gres=gpu:1 State=UNKNOWN" for index, node in enumerate(NODES))
    return f"""{MARKER}
ClusterName={CLUSTER_NAME}
# the loopback address: no need for the host name to resolve (containers)
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
# squeue must still list finished jobs when the executor polls (slurm-status-command: squeue)
MinJobAge=600
# the nodes are declared as below, whatever slurmd measures (CI machines with 1 core or little memory)
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation={SPOOL}/ctld
SlurmdSpoolDir={SPOOL}/d-%n
SlurmctldPidFile={SPOOL}/slurmctld.pid
SlurmdPidFile={SPOOL}/slurmd-%n.pid
SlurmctldLogFile={SPOOL}/slurmctld.log
SlurmdLogFile={SPOOL}/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldTimeout=30
SlurmdTimeout=30
{nodes}
PartitionName=cpu Nodes={",".join(NODES)} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={",".join(NODES)} Default=NO MaxTime=INFINITE State=UP
"""


def gres_conf() -> str:
    lines = [f"NodeName={node} Name=gpu File={device}" for node, device in zip(NODES, GPU_DEVICES)]
    return "\n".join([MARKER, *lines]) + "\n"


class SlurmCluster:
    def __init__(self) -> None:
        self.host = socket.gethostname().split(".")[0]
        self.pids: dict[str, int] = {}  # daemon -> pid, only those this object started
        self.backups: dict[Path, Path | None] = {}  # config file -> its backup (None: there was none)
        self.devices: list[Path] = []
        self._children: list[subprocess.Popen] = []

    # ---- setup -------------------------------------------------------------

    def start(self, timeout: float = 90) -> SlurmCluster:
        if os.geteuid() != 0:
            raise ClusterUnavailable("starting a SLURM cluster needs root")
        ensure_installed()
        self._stop_leftovers()
        running = _running("slurmctld")
        if running:
            raise ClusterUnavailable(f"a slurmctld (pid {running[0]}) is already running on this machine; "
                                     "not replacing its cluster")
        try:
            self._start_munge()
            self._write_configs()
            self._make_devices()
            self._start_daemons(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _stop_leftovers(self) -> None:
        """Daemons a crashed earlier session of this module left running (its config and pid files say so)."""
        conf = CONF_DIR / "slurm.conf"
        if not conf.exists() or MARKER not in conf.read_text(errors="replace"):
            return
        pidfiles = [*sorted(SPOOL.glob("slurmd-*.pid")), SPOOL / "slurmctld.pid", SPOOL / "munged.pid"]
        for pidfile in pidfiles:
            daemon = pidfile.stem.split("-")[0]
            try:
                pid = int(pidfile.read_text().split()[0])
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except (OSError, ValueError, IndexError):
                continue
            if comm == daemon and _pid_alive(pid):
                _stop_pid(pid)

    def _start_munge(self) -> None:
        if _run(["bash", "-c", "munge -n | unmunge"], check=False).returncode == 0:
            return  # a munged already answers: use it, leave it running
        if not MUNGE_KEY.exists():
            MUNGE_KEY.parent.mkdir(parents=True, exist_ok=True)
            if shutil.which("mungekey"):
                _run(["mungekey", "--create", "--keyfile", str(MUNGE_KEY)])
            else:
                MUNGE_KEY.write_bytes(os.urandom(1024))
        MUNGE_KEY.chmod(0o600)
        MUNGE_SOCKET_DIR.mkdir(parents=True, exist_ok=True)
        MUNGE_SOCKET_DIR.chmod(0o755)
        try:  # the packaged owner, so a later `service munge start` still works
            shutil.chown(MUNGE_KEY, "munge", "munge")
            shutil.chown(MUNGE_SOCKET_DIR, "munge", "munge")
        except (LookupError, PermissionError):
            pass
        # --force: run as root over files owned by munge; -F: in the foreground, a child of this process
        SPOOL.mkdir(parents=True, exist_ok=True)
        self._spawn("munged", ["--force", "-F", f"--log-file={SPOOL / 'munged.log'}",
                               f"--pid-file={SPOOL / 'munged.pid'}"])
        deadline = time.monotonic() + 15
        while _run(["bash", "-c", "munge -n | unmunge"], check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise ClusterUnavailable("munged started but does not answer")
            time.sleep(0.2)

    def _replace(self, path: Path, text: str) -> None:
        if path not in self.backups:
            backup = path.with_name(path.name + ".rait-backup")
            if path.exists() and MARKER not in path.read_text(errors="replace"):
                shutil.copy2(path, backup)
            elif not backup.exists():  # (a backup there is the original a crashed session did not put back)
                backup = None
            self.backups[path] = backup
        path.write_text(text)

    def _write_configs(self) -> None:
        hardware = node_hardware()
        # what each node is declared with (config_overrides): at least 2 CPUs and 16 GB, so that two of the
        # profile's jobs (2 CPUs each, pretraining 8 GB) run side by side, one per node, even on a small CI
        # machine, and a two-node job gets both nodes once they are free
        cpus, memory = max(hardware["cpus"] // len(NODES), 2), max(hardware["memory"], 16000)
        CONF_DIR.mkdir(parents=True, exist_ok=True)
        for sub in ("ctld", *(f"d-{node}" for node in NODES)):
            (SPOOL / sub).mkdir(parents=True, exist_ok=True)
        self._replace(CONF_DIR / "slurm.conf", slurm_conf(self.host, cpus, memory))
        self._replace(CONF_DIR / "gres.conf", gres_conf())

    def _make_devices(self) -> None:
        """The placeholder GPUs (removed by stop(), also when an earlier session left them behind)."""
        for device in GPU_DEVICES:
            if not device.exists():
                os.mknod(device, 0o666 | 0o020000, os.makedev(1, 3))  # a character device like /dev/null
            self.devices.append(device)

    def _start_daemons(self, timeout: float) -> None:
        self._spawn("slurmctld", ["-D", "-c", "-i"])
        self._wait(lambda: "UP" in _run(["scontrol", "ping"], check=False).stdout, timeout, "slurmctld")
        for node in NODES:
            self._spawn("slurmd", ["-D", "-N", node], name=f"slurmd-{node}")
        self._wait(lambda: self.node_states() == ["idle"] * len(NODES), timeout, "the nodes to become idle")

    def _spawn(self, daemon: str, args: list[str], name: str | None = None) -> None:
        name = name or daemon
        with open(SPOOL / f"{name}.stdout", "w") as log:
            process = subprocess.Popen([daemon, *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._children.append(process)
        self.pids[name] = process.pid

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for process in self._children:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[0]} exited ({process.returncode}) while waiting for {what}:\n"
                                       f"{self.daemon_logs()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}:\n{self.daemon_logs()}")
            time.sleep(0.5)

    def node_states(self) -> list[str]:
        """Each node's state, in NODES order ([] when sinfo does not answer)."""
        result = _run(["sinfo", "-h", "-N", "-o", "%N %T"], check=False)
        if result.returncode != 0:
            return []
        states = dict(line.split() for line in result.stdout.splitlines() if line.strip())
        return [states.get(node, "").rstrip("*~#") for node in NODES]

    def daemon_logs(self, tail: int = 3000) -> str:
        parts = []
        for name in ("slurmctld.log", "slurmctld.stdout", *(f"slurmd-{node}.{kind}" for node in NODES
                                                            for kind in ("log", "stdout"))):
            path = SPOOL / name
            if path.exists():
                parts.append(f"--- {path}\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)

    # ---- teardown ----------------------------------------------------------

    def stop(self) -> None:
        if "slurmctld" in self.pids and _pid_alive(self.pids["slurmctld"]):
            # every job of this cluster is ours: no slurmctld ran here before start()
            _run(["scancel", "--full", "--user", str(os.geteuid())], check=False, timeout=30)
            self.wait_until_empty(timeout=30)
        for daemon in (*(f"slurmd-{node}" for node in NODES), "slurmctld", "munged"):
            pid = self.pids.pop(daemon, None)
            if pid is not None:
                _stop_pid(pid)
        for path, backup in self.backups.items():
            if backup is not None:
                shutil.move(backup, path)
            elif path.exists():
                path.unlink()
        self.backups.clear()
        for device in self.devices:
            device.unlink(missing_ok=True)
        self.devices.clear()

    # ---- jobs --------------------------------------------------------------

    def wait_until_empty(self, timeout: float = 60) -> bool:
        """Whether, within ``timeout``, no job is pending or running any more."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = _run(["squeue", "-h", "-t", "PENDING,RUNNING,COMPLETING,CONFIGURING", "-o", "%i"], check=False)
            if result.returncode == 0 and not result.stdout.strip():
                return True
            time.sleep(0.5)
        return False

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld still knows (finished ones for MinJobAge), as scontrol's key=value fields.

        With ``-d``, ``JOB_GRES`` is the GRES the job was allocated (``gpu:1``), kept after it ends;
        ``TresPerJob`` is what it asked for (``gres:gpu:1``)."""
        out = _run(["scontrol", "show", "job", "-d", "-o"], check=False).stdout
        jobs = []
        for line in out.splitlines():
            if not line.startswith("JobId="):
                continue
            # values may contain spaces (Command=, Comment=...): split at " Key=" boundaries only
            pairs = re.findall(r"(?:^|\s)([A-Za-z][A-Za-z:/_]*)=(.*?)(?=\s[A-Za-z][A-Za-z:/_]*=|$)", line)
            jobs.append({key: value.strip() for key, value in pairs})
        return jobs

    def sbatch(self, *args: str, cwd: Path | None = None) -> str:
        return _run(["sbatch", "--parsable", *args], cwd=cwd).stdout.strip().split(";")[0]

    def wait_job(self, jobid: str, timeout: float = 60) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = next((job for job in self.jobs() if job.get("JobId") == jobid), {})
            if job.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"):
                return job
            time.sleep(0.3)
        raise RuntimeError(f"job {jobid} did not finish in {timeout}s:\n{self.daemon_logs()}")

    def check_gpu_job(self, workdir: Path) -> str:
        """A trivial GPU job; returns the CUDA_VISIBLE_DEVICES it saw."""
        out = workdir / "gpu_check.out"
        jobid = self.sbatch("--gpus=1", "-p", "gpu", "-o", str(out), "--wrap",
                            "echo CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES", cwd=workdir)
        job = self.wait_job(jobid)
        if job.get("JobState") != "COMPLETED":
            raise RuntimeError(f"GPU check job {jobid} ended {job.get('JobState')}: {job}\n{self.daemon_logs()}")
        return out.read_text().strip().removeprefix("CUDA_VISIBLE_DEVICES=")


if __name__ == "__main__":
    import tempfile

    started = time.monotonic()
    cluster = SlurmCluster()
    try:
        cluster.start()
        print(f"cluster up in {time.monotonic() - started:.1f}s; nodes {NODES} {cluster.node_states()}")
        with tempfile.TemporaryDirectory() as scratch:
            print("CUDA_VISIBLE_DEVICES in a --gpus=1 job:", repr(cluster.check_gpu_job(Path(scratch))))
    finally:
        cluster.stop()
        print(f"stopped after {time.monotonic() - started:.1f}s")
