"""A real one-node Slurm for the cluster tests: munged, slurmctld and slurmd, started as root.

Everything lives in one temporary folder: a generated slurm.conf (this host as controller and only node,
its own ports), the munge key and socket, state, spool and logs. The host's /etc/slurm and /etc/munge are
neither read nor changed, and clients find this cluster through SLURM_CONF. Nothing is installed here:
`.ci/run` installs Debian's slurmctld, slurmd, slurm-client and munge packages; without them (or without
root) `why_unavailable` says why and the tests are skipped with that reason.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DAEMONS = {"munged": "/usr/sbin/munged", "slurmctld": "/usr/sbin/slurmctld", "slurmd": "/usr/sbin/slurmd"}
CLIENTS = ("sbatch", "squeue", "scancel", "scontrol", "srun", "sinfo")
START_TIMEOUT_S = 60


class ClusterUnavailable(Exception):
    pass


@dataclass
class Cluster:
    folder: Path
    conf: Path
    munged_pid: int

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def log_lines(self, job_id: str, lines: int = 30) -> str:
        """The last `lines` lines of slurmctld's and slurmd's logs that name `job_id` (JobId=N or job N):
        what a failed test shows, since Slurm forgets a finished job after MinJobAge."""
        number = job_id.split("_")[0]
        marks = (f"JobId={number}", f"job {number}", f"StepId={number}", f"job_id={number}")
        out = []
        for daemon in ("slurmctld", "slurmd"):
            try:
                text = (self.folder / "log" / f"{daemon}.log").read_text(errors="replace").splitlines()
            except OSError as exc:
                out.append(f"{daemon}.log: {exc}")
                continue
            named = [line for line in text if any(m in line for m in marks)]
            out += [f"--- {daemon}.log ({len(named)} lines name job {number}; the last {lines}):", *named[-lines:]]
        return "\n".join(out)

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(command, env={**os.environ, **self.env}, capture_output=True, text=True, check=check,
                              timeout=60)


def why_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the cluster tests start munged/slurmctld/slurmd and need root"
    missing = [name for name, path in DAEMONS.items() if not os.access(path, os.X_OK)]
    missing += [name for name in CLIENTS if shutil.which(name) is None]
    if missing:
        return (f"Slurm is not installed ({', '.join(missing)} missing): apt-get install slurmctld slurmd "
                f"slurm-client munge (.ci/run does)")
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _conf(folder: Path, host: str) -> str:
    cpus = os.cpu_count() or 1
    return f"""ClusterName=cifartui
SlurmctldHost={host}
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder}/munge/munge.socket,cred_expire=15
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
SlurmdUser=root
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/log/slurmctld.log
SlurmdLogFile={folder}/log/slurmd.log
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobRequeue=1
KillWait=10
MinJobAge=60
InactiveLimit=0
NodeName={host} CPUs={cpus} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def start() -> Cluster:
    """Start munged, slurmctld and slurmd; wait until the node is idle. ClusterUnavailable with the reason."""
    reason = why_unavailable()
    if reason:
        raise ClusterUnavailable(reason)
    folder = Path(tempfile.mkdtemp(prefix="cifar-slurm-"))  # short: the munge socket path has a length limit
    folder.chmod(0o755)
    for name in ("munge", "state", "spool", "log"):
        (folder / name).mkdir()
    key = folder / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    host = socket.gethostname().split(".")[0]
    conf = folder / "slurm.conf"
    conf.write_text(_conf(folder, host))
    munge = folder / "munge"
    subprocess.run([DAEMONS["munged"], "--force", f"--socket={munge}/munge.socket", f"--key-file={key}",
                    f"--log-file={munge}/munged.log", f"--pid-file={munge}/munged.pid",
                    f"--seed-file={munge}/munged.seed"], check=True, capture_output=True, timeout=30)
    cluster = Cluster(folder, conf, int((munge / "munged.pid").read_text()))
    try:
        for daemon in ("slurmctld", "slurmd"):
            cluster.run(DAEMONS[daemon], "-f", str(conf))
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            state = cluster.run("sinfo", "--noheader", "--format", "%T", check=False).stdout.strip()
            if state == "idle":
                return cluster
            time.sleep(0.3)
        raise ClusterUnavailable(f"the node never became idle (sinfo: {state!r}; logs in {folder / 'log'})")
    except (subprocess.SubprocessError, OSError) as exc:
        stop(cluster)
        raise ClusterUnavailable(f"Slurm did not start: {exc}") from None
    except ClusterUnavailable:
        stop(cluster)
        raise


def stop(cluster: Cluster) -> None:
    """Cancel every job of this cluster, stop its daemons and munged, remove its folder (kept with
    CIFAR_TUI_KEEP_SLURM=1)."""
    cluster.run("scancel", "--user", "root", check=False)
    deadline = time.monotonic() + 30  # let the jobs end while the controller can still hear their steps end
    while time.monotonic() < deadline and cluster.run("squeue", "--noheader", check=False).stdout.strip():
        time.sleep(0.5)
    cluster.run("scontrol", "shutdown", check=False)
    for pid_file in ("slurmctld.pid", "slurmd.pid"):
        _wait_gone(cluster.folder / pid_file)
    for pid in _processes_of(cluster):  # a step daemon or task still left: this cluster's, by its SLURM_CONF
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.kill(cluster.munged_pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    if os.environ.get("CIFAR_TUI_KEEP_SLURM") == "1":  # to read slurmctld.log / slurmd.log after a failure
        print(f"Slurm test cluster kept in {cluster.folder}")
    else:
        shutil.rmtree(cluster.folder, ignore_errors=True)


def _processes_of(cluster: Cluster) -> list[int]:
    """Processes whose environment names this cluster's slurm.conf (slurmd passes it to its step daemons,
    and the tests to the jobs they submit)."""
    mark = f"SLURM_CONF={cluster.conf}".encode()
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if mark in environ:
            out.append(int(entry.name))
    return out


def _wait_gone(pid_file: Path, timeout_s: float = 20) -> None:
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)  # only the daemon this fixture started (its own pid file)
