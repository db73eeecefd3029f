"""One control group per sandbox: memory and process limits for the whole
sandbox (every process it starts, and the tmpfs pages it writes), not per
process as rlimits are, and its CPU: an equal share beside every other
sandbox however many processes it starts, and at most ``cpus`` CPUs.

cgroup v2 where the memory and pids controllers can be enabled below the
grader's own group, else cgroup v1's memory and pids hierarchies (and cpu,
where it can: without it, ``cpu_limited`` is False and the record says so).
Needs root (or a delegated subtree); ``Cgroup.create`` returns None where
neither works and the record then says the limits are per process only.
"""
from __future__ import annotations

import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD = 100_000   # us: the quota is cpus x this per period
REMOVE_TRIES = 100  # x 50 ms: the processes of a killed sandbox can take seconds to exit under load


def _own_path(controller: str) -> str:
    """This process's group in ``controller``'s hierarchy ("" for v2)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if controller in names.split(",") or (controller == "" and names == ""):
            return path.lstrip("/")
    raise LookupError(controller)


@dataclass
class Cgroup:
    version: int
    folders: list[Path]        # one (v2) or the memory, pids (and cpu) groups (v1)
    cpu_limited: bool = False  # an equal CPU share and the quota are in place

    @classmethod
    def create(cls, name: str, memory: int, processes: int, cpus: float = 0) -> Cgroup | None:
        """``cpus``: at most this many CPUs (0: the share alone, no quota)."""
        for make in (cls._v2, cls._v1):
            try:
                return make(name, memory, processes, cpus)
            except (OSError, LookupError, ValueError):
                continue
        return None

    @classmethod
    def _v2(cls, name: str, memory: int, processes: int, cpus: float) -> Cgroup:
        if not (ROOT / "cgroup.controllers").exists():
            raise OSError("no cgroup v2 at /sys/fs/cgroup")
        parent = ROOT / _own_path("") / "course-grader"
        parent.mkdir(exist_ok=True)
        (parent.parent / "cgroup.subtree_control").write_text("+memory +pids")
        (parent / "cgroup.subtree_control").write_text("+memory +pids")
        cpu = (_try_write(parent.parent / "cgroup.subtree_control", "+cpu")
               and _try_write(parent / "cgroup.subtree_control", "+cpu"))
        folder = _new_folder(parent / name)
        group = cls(2, [folder])
        try:
            (folder / "memory.max").write_text(str(memory))
            (folder / "memory.swap.max").write_text("0")
            (folder / "pids.max").write_text(str(processes))
        except OSError:
            group.remove()
            raise
        # The default weight (100) is every sibling's: an equal share, however many processes.
        quota = f"{int(cpus * CPU_PERIOD)} {CPU_PERIOD}" if cpus else "max"
        group.cpu_limited = (cpu and _try_write(folder / "cpu.weight", "100")
                             and _try_write(folder / "cpu.max", quota))
        return group

    @classmethod
    def _v1(cls, name: str, memory: int, processes: int, cpus: float) -> Cgroup:
        memory_dir = _new_folder(ROOT / "memory" / _own_path("memory") / f"course-grader-{name}")
        group = cls(1, [memory_dir])
        try:
            pids_dir = _new_folder(ROOT / "pids" / _own_path("pids") / f"course-grader-{name}")
            group.folders.append(pids_dir)
            (memory_dir / "memory.limit_in_bytes").write_text(str(memory))
            if (memory_dir / "memory.memsw.limit_in_bytes").exists():   # no escape into swap
                (memory_dir / "memory.memsw.limit_in_bytes").write_text(str(memory))
            (pids_dir / "pids.max").write_text(str(processes))
        except OSError:
            group.remove()
            raise
        group.cpu_limited = group._add_v1_cpu(name, cpus)
        return group

    def _add_v1_cpu(self, name: str, cpus: float) -> bool:
        """The cpu hierarchy's group, if there is one: the default shares (1024,
        every sibling's) and the quota. Without it the sandbox still runs."""
        try:
            folder = _new_folder(ROOT / "cpu" / _own_path("cpu") / f"course-grader-{name}")
        except (OSError, LookupError):
            return False
        self.folders.append(folder)
        quota = str(int(cpus * CPU_PERIOD)) if cpus else "-1"
        return (_try_write(folder / "cpu.shares", "1024")
                and _try_write(folder / "cpu.cfs_period_us", str(CPU_PERIOD))
                and _try_write(folder / "cpu.cfs_quota_us", quota))

    @property
    def procs_files(self) -> list[str]:
        """Where the launcher writes its pid (before it execs the sandbox)."""
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def peak_memory(self) -> int | None:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((self.folders[0] / name).read_text())
        except (OSError, ValueError):
            return None

    def oom_kills(self) -> int:
        """How many processes the memory limit killed."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            fields = dict(line.split() for line in (self.folders[0] / name).read_text().splitlines())
            return int(fields.get("oom_kill", 0))
        except (OSError, ValueError):
            return 0

    def kill_all(self) -> None:
        """SIGKILL whatever is still in the group (the PID namespace normally
        took everything with it already)."""
        for _ in range(50):
            pids = [int(p) for f in self.procs_files if Path(f).exists()
                    for p in Path(f).read_text().split()]
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    def remove(self) -> None:
        self.kill_all()
        for folder in self.folders:
            for _ in range(REMOVE_TRIES):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:      # busy: processes still exiting
                    time.sleep(0.05)


def _try_write(path: Path, text: str) -> bool:
    try:
        path.write_text(text)
        return True
    except OSError:
        return False


def _new_folder(path: Path) -> Path:
    """``path``, created empty. A folder of that name is left over from an
    earlier sandbox of the same uid slot whose removal timed out (the slot is
    leased to one sandbox at a time, so it is nobody's now): it is emptied and
    removed, or, if it will not go, a new name beside it is used. (Failing
    here used to leave the sandbox without its cgroup, silently.)"""
    if path.exists():
        Cgroup(0, [path]).remove()
    if path.exists():
        path = path.with_name(f"{path.name}-{secrets.token_hex(3)}")
    path.mkdir()
    return path
