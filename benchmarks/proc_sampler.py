"""CPU and memory of a process tree, read from /proc (Linux): for the benchmarks.

Start the measured command in a new session (``start_new_session=True``); :class:`Sampler`
then reads every process of that session twice a second: CPU (user + system, its own, not its
children's) and resident memory. Processes are grouped by what they are (the Prefect server,
``pemantik serve``, LibreOffice, the rest), so a benchmark can print the server's share of the
CPU and the peak memory of all processes together. A process that lives less than one sample
is missed by the groups; the total CPU comes from ``resource.getrusage(RUSAGE_CHILDREN)``,
which counts every process that was waited for.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def kind_of(cmdline: str) -> str:
    if "prefect server start" in cmdline or "prefect.server" in cmdline or "uvicorn" in cmdline:
        return "prefect-server"
    if " serve" in cmdline and ("deployments.cli" in cmdline or "pemantik" in cmdline):
        return "pemantik-serve"
    if "soffice" in cmdline or "oosplash" in cmdline:
        return "libreoffice"
    if "postgres" in cmdline:
        return "postgres"
    return "lainnya"


PSS_EVERY = 10


def pss_of(entry: Path) -> int:
    """A process's proportional set size in bytes (0 when it has gone meanwhile)."""
    try:
        for line in (entry / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


@dataclass
class Sample:
    cpu: dict[int, float] = field(default_factory=dict)  # pid → own CPU seconds (last seen)
    kind: dict[int, str] = field(default_factory=dict)
    peak_rss: int = 0  # bytes, all processes together
    # The same, each page shared between processes (libraries, PostgreSQL's shared buffers)
    # counted once, split between them (PSS): what the processes take from the machine.
    peak_pss: int = 0
    peak_by_kind: dict[str, int] = field(default_factory=dict)


class Sampler:
    """Samples the processes of one session, and those outside it whose command line holds
    ``outside`` (with their children): the embedded PostgreSQL detaches into a session of its
    own, so neither the session nor the wait status would count it."""

    def __init__(self, session_id: int, every: float = 0.5, outside: str | None = None) -> None:
        self.session_id = session_id
        self.every = every
        self.outside = outside
        self._outside_pids: set[int] = set()
        self._not_outside: set[int] = set()
        self.result = Sample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._samples = 0

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> Sample:
        self._stop.set()
        self._thread.join(10)
        return self.result

    def total_cpu(self) -> float:
        """CPU seconds of every waited-for process since the sampler was made."""
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        waited = (now.ru_utime - self._children0.ru_utime) + (
            now.ru_stime - self._children0.ru_stime
        )
        return waited + sum(self.result.cpu.get(pid, 0.0) for pid in self._outside_pids)

    def _is_outside(self, pid: int, ppid: int, entry: Path) -> bool:
        if not self.outside or pid in self._not_outside:
            return False
        if pid in self._outside_pids or ppid in self._outside_pids:
            self._outside_pids.add(pid)
            return True
        cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        if self.outside in cmdline:
            self._outside_pids.add(pid)
            return True
        self._not_outside.add(pid)
        return False

    def cpu_by_kind(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for pid, seconds in self.result.cpu.items():
            kind = self.result.kind.get(pid, "lainnya")
            totals[kind] = totals.get(kind, 0.0) + seconds
        return totals

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)
        self._sample()

    def _sample(self) -> None:
        # PSS needs the kernel to walk each process's page tables: every 10th sample only.
        with_pss = self._samples % PSS_EVERY == 0 or self._stop.is_set()
        self._samples += 1
        rss_total = pss_total = 0
        by_kind: dict[str, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                stat = (entry / "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                # fields 4 and 6: parent pid, session id
                if int(fields[3]) != self.session_id and not self._is_outside(
                    pid, int(fields[1]), entry
                ):
                    continue
                cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
                rss = int(fields[21]) * PAGE
                # Read again while it looks like "other": a child seen between its fork and its
                # exec still shows its parent's command line.
                if self.result.kind.get(pid, "lainnya") == "lainnya":
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    self.result.kind[pid] = kind_of(cmdline)
            except (OSError, ValueError, IndexError):
                continue
            self.result.cpu[pid] = cpu
            rss_total += rss
            if with_pss:
                pss_total += pss_of(entry)
            kind = self.result.kind[pid]
            by_kind[kind] = by_kind.get(kind, 0) + rss
        self.result.peak_rss = max(self.result.peak_rss, rss_total)
        self.result.peak_pss = max(self.result.peak_pss, pss_total)
        for kind, rss in by_kind.items():
            self.result.peak_by_kind[kind] = max(self.result.peak_by_kind.get(kind, 0), rss)


def measure(
    command: list[str],
    env: dict[str, str],
    cwd: Path,
    log: Path,
    timeout: float,
    outside: str | None = None,
) -> dict:
    """Run ``command`` in its own session; wall time, CPU (total and by kind), peak memory.

    ``outside``: a string in the command lines of processes it starts outside its session
    (their CPU is sampled, so the last half second of a short-lived one may be missed)."""
    import subprocess

    t0 = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        sampler = Sampler(proc.pid, outside=outside).start()
        try:
            code = proc.wait(timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    wall = time.monotonic() - t0
    sample = sampler.stop()
    return {
        "code": code,
        "wall_s": wall,
        "cpu_s": sampler.total_cpu(),
        "cpu_by_kind": sampler.cpu_by_kind(),
        "peak_rss": sample.peak_rss,
        "peak_pss": sample.peak_pss,
        "peak_rss_by_kind": sample.peak_by_kind,
    }
