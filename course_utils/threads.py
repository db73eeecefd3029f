"""How many threads NumPy's BLAS and torch use in a course kernel.

Left to their defaults, OpenBLAS and torch start one thread per core. With
another process on the cores, the threads of one matrix product wait for each
other: 100 MLP batches took 5.7 s with 2 OpenBLAS threads and 0.27 s with one
on a loaded 2-core machine (benchmarks/README.md, "Threads"). Many students'
kernels share one JupyterHub server, so a kernel must not take every core.

Rule (measured in benchmarks/README.md): ``min(available CPUs, 4) // 2``
threads, at least 1, and 1 on a JupyterHub server without a CPU quota of its
own. Available CPUs are this process's CPU affinity, cut to the container's
CPU quota (cgroup v2 ``cpu.max``, cgroup v1 ``cpu.cfs_quota_us`` /
``cpu.cfs_period_us``).

Overrides, first that applies: the argument of :func:`configure_threads`,
``$COURSE_THREADS``, an ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` the
kernel inherited (the grader's sandbox sets 1).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "COURSE_THREADS"
INHERITED_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
# Set for libraries loaded later (scipy's own OpenBLAS, torch) and subprocesses.
LIBRARY_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
MAX_DEFAULT_CPUS = 4
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")

_written: dict[str, str] = {}  # the library variables this module set, to tell them from inherited ones


@dataclass(frozen=True)
class ThreadChoice:
    """What :func:`configure_threads` chose.

    threads:   the count asked of BLAS and torch.
    source:    why: "argument", "COURSE_THREADS", "OMP_NUM_THREADS", ... or "default".
    available: CPUs this process may use (affinity and quota).
    blas:      threads NumPy's BLAS reports after the change (0: no BLAS found).
    torch:     torch's intra-op threads (None: torch is not installed).
    """

    threads: int
    source: str
    available: int
    blas: int
    torch: int | None

    def summary(self) -> str:
        torch = "no" if self.torch is None else self.torch
        how = ("" if self.source == "argument"
               else f" (set {ENV_VAR}=N to change)" if self.source == "default"
               else f" (from {self.source})")
        return f"threads: {self.blas} BLAS / {torch} torch of {self.available} CPUs{how}"


# ---------------------------------------------------------------- CPUs

def parse_cpu_max(text: str) -> float | None:
    """cgroup v2 ``cpu.max`` ("200000 100000", or "max 100000") -> CPUs, or None."""
    quota, _, period = text.strip().partition(" ")
    if quota == "max" or not period:
        return None
    return int(quota) / int(period)


def parse_cfs(quota_text: str, period_text: str) -> float | None:
    """cgroup v1 ``cpu.cfs_quota_us`` (-1: none) and ``cpu.cfs_period_us`` -> CPUs, or None."""
    quota, period = int(quota_text), int(period_text)
    return quota / period if quota > 0 and period > 0 else None


def _own_cgroup_paths(proc_cgroup: Path) -> list[str]:
    """The cgroup paths of this process ("0::/user.slice/..." -> "user.slice/...")."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return []
    return sorted({line.split(":", 2)[2].strip("/") for line in lines if line.count(":") >= 2})


def cgroup_cpu_quota(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """The tightest CPU quota of this process's cgroups (v2 or v1), in CPUs;
    None without one. Looks at the mount root (a container's own cgroup) and
    at this process's cgroup path under it."""
    folders = [root, root / "cpu", root / "cpu,cpuacct"]
    folders += [folder / path for path in _own_cgroup_paths(proc_cgroup) if path
                for folder in list(folders)]
    quotas = []
    for folder in folders:
        try:
            if (folder / "cpu.max").is_file():
                quotas.append(parse_cpu_max((folder / "cpu.max").read_text()))
            elif (folder / "cpu.cfs_quota_us").is_file():
                quotas.append(parse_cfs((folder / "cpu.cfs_quota_us").read_text(),
                                        (folder / "cpu.cfs_period_us").read_text()))
        except (OSError, ValueError):
            continue  # unreadable or odd: no quota from this file
    quotas = [q for q in quotas if q is not None]
    return min(quotas) if quotas else None


def available_cpus(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> int:
    """CPUs this process may run on (affinity), cut to the cgroup quota; at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota(root, proc_cgroup)
    if quota is not None:
        cpus = min(cpus, math.floor(quota))  # 1.5 CPUs of quota: one thread runs unthrottled
    return max(1, cpus)


def on_shared_hub(env=os.environ) -> bool:
    """A JupyterHub single-user server (the hub sets JUPYTERHUB_USER)."""
    return bool(env.get("JUPYTERHUB_USER"))


def default_threads(available: int, shared: bool, has_quota: bool) -> int:
    """Half the CPUs, at most ``MAX_DEFAULT_CPUS // 2``: the other half stays
    free for the server, the browser and other processes (threads that
    compete for cores collapse, one thread cannot). One thread on a shared
    hub with no quota of our own: every student's kernel is on those cores."""
    if shared and not has_quota:
        return 1
    return max(1, min(available, MAX_DEFAULT_CPUS) // 2)


# ---------------------------------------------------------------- choosing

def _positive_int(name: str, value) -> int:
    try:
        count = int(str(value).strip())
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"{name}={value!r}: expected a whole number of threads, 1 or more "
                         f"(e.g. {ENV_VAR}=2).")
    return count


def choose_threads(n: int | None = None, env=os.environ) -> tuple[int, str, int]:
    """(threads, source, available CPUs) by the rule of this module, without
    changing anything."""
    available = available_cpus()
    if n is not None:
        return _positive_int("threads", n), "argument", available
    if env.get(ENV_VAR, "").strip():
        return _positive_int(ENV_VAR, env[ENV_VAR]), ENV_VAR, available
    for name in INHERITED_VARS:
        value = env.get(name, "").strip()
        if value and _written.get(name) != value:
            return _positive_int(name, value), name, available
    has_quota = cgroup_cpu_quota() is not None
    return default_threads(available, on_shared_hub(env), has_quota), "default", available


def configure_threads(n: int | None = None) -> ThreadChoice:
    """Choose the thread count (see the module's rule and overrides) and apply
    it to NumPy's BLAS (threadpoolctl), to torch and, through the environment,
    to libraries and processes started later. Returns the choice."""
    import numpy  # noqa: F401 (loads OpenBLAS, so that threadpoolctl can find it)
    from threadpoolctl import threadpool_info, threadpool_limits

    threads, source, available = choose_threads(n)
    for name in LIBRARY_VARS:
        os.environ[name] = _written[name] = str(threads)
    threadpool_limits(limits=threads, user_api="blas")
    torch_threads = _set_torch_threads(threads)
    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return ThreadChoice(threads, source, available, max(blas, default=0), torch_threads)


def _set_torch_threads(threads: int) -> int | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch.get_num_threads()
