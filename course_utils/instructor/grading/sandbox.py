"""Run one prepared notebook in a sandbox of its own.

As root, with Debian's ``bubblewrap`` (``bwrap``), each submission gets:
- its own user: a uid from a reserved range, held by a lock for the
  sandbox's lifetime, so no two sandboxes share a uid (files, signals,
  /proc, the per-uid process limit);
- an empty root file system with only what the kernel needs, read-only:
  /usr (and its /bin, /lib links), a few /etc files, the Python
  installation, the virtual environment and the ``course_utils`` package.
  Nothing of the course (gradebook, solutions, submissions, autograded
  notebooks, exports, the repository's tests) and no socket of the host;
- its own working directory, /tmp, /var/tmp and /dev/shm, each a tmpfs with
  a size limit (together the sandbox's disk), all gone when it ends;
- its own PID, IPC, network (loopback only), UTS and cgroup namespaces;
  everything it starts dies with it (``--die-with-parent``, PID namespace);
- a control group limiting memory (tmpfs included) and processes for the
  whole sandbox (cgroup.py), and rlimits per process (address space, file
  size, processes of its uid, no core);
- a wall-clock limit for the whole notebook.

Data crosses only through pipes (frames.py): the parent never writes, reads,
chowns or follows a path inside the sandbox. Not root but unprivileged user
namespaces allowed: the same file system and namespaces, the instructor's
uid inside, no cgroup. Neither: a plain child process in a fresh temporary
directory (recorded; see docs/grading.md).
"""
from __future__ import annotations

import collections
import fcntl
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

import course_utils

from .cgroup import Cgroup
from .frames import FrameError, pack, unpack
from .limits import executed_refused

UID_BASE, UID_SLOTS = 1_900_000_000, 4096     # no real account lives here
ADDRESS_SPACE = 4 * 2**30                      # per process
FILE_SIZE = 100 * 2**20
KILL_GRACE = 30                                # s after the notebook limit before SIGKILL
MAX_RESULTS = 256 * 2**20                      # what the parent reads from the child's stdout
STDERR_TAIL = 64 * 2**10
WORKDIR = "/grading"                           # the sandbox's directory, HOME and cwd
ETC = ["passwd", "group", "nsswitch.conf", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
       "localtime", "alternatives", "fonts", "mime.types", "hosts"]
# Writes the launcher's pid into the sandbox's cgroup, then execs the rest:
# everything the sandbox starts is counted from its first instruction.
ATTACH = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 96; shift; done; shift; exec "$@"'


@dataclass
class Limits:
    cell_timeout: float = 300
    notebook_limit: float = 1800
    memory: int = 4 * 2**30        # whole sandbox (cgroup), tmpfs included
    processes: int = 1024          # whole sandbox (cgroup pids.max and RLIMIT_NPROC of its uid)
    disk: int = 512 * 2**20        # working directory 1/2, /tmp 3/8, /var/tmp 1/8
    shm: int = 64 * 2**20          # /dev/shm


@dataclass
class Defences:
    isolation: str = "none"        # "bubblewrap as root", "bubblewrap in a user namespace", "none"
    unique_user: bool = False
    private_tmp: bool = False
    namespaces: list[str] = field(default_factory=list)
    course_invisible: bool = False
    cgroup: str = ""               # "v1" / "v2" / "" (limits per process only)
    limits: list[str] = field(default_factory=list)
    peak_memory_mib: float | None = None
    notebook_time_limit: bool = True

    def summary(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self).items())


@dataclass
class SandboxResult:
    notebook: nbformat.NotebookNode | None
    status: dict
    defences: Defences
    returncode: int
    killed: bool
    stderr_tail: str
    files: dict[str, bytes] = field(default_factory=dict)   # the probes' results that came back


@functools.lru_cache(maxsize=None)
def isolation() -> str:
    """Which sandbox this machine allows, tried once."""
    if shutil.which("bwrap") is None:
        return "none"
    as_root = os.geteuid() == 0 and shutil.which("setpriv") and shutil.which("prlimit")
    mode = "root" if as_root else "user"
    probe = [*bwrap_args(mode, Limits(), uid=UID_BASE), "--", "/bin/true"]
    if mode == "root":
        probe[-1:] = ["setpriv", f"--reuid={UID_BASE}", f"--regid={UID_BASE}", "--clear-groups", "/bin/true"]
    ok = subprocess.run(probe, capture_output=True, stdin=subprocess.DEVNULL).returncode == 0
    return mode if ok else "none"


def python_paths() -> list[str]:
    """What the kernel needs of Python: the installation, the environment, the package."""
    paths = {sys.base_prefix, sys.prefix, sys.exec_prefix, str(Path(course_utils.__file__).parent)}
    paths |= {str(Path(sys.executable).resolve().parent.parent)}
    return sorted(str(Path(p).resolve()) for p in paths)


def bwrap_args(mode: str, limits: Limits, uid: int) -> list[str]:
    args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc",
            "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev"]
    if mode == "user":
        args += ["--unshare-user"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    # The sandbox's disk: tmpfs only, each with its share of limits.disk, mounted
    # before the Python paths (which may lie under /tmp, as a CI clone may).
    for path, share in ((WORKDIR, 4), ("/tmp", 3), ("/var/tmp", 1)):
        args += ["--perms", "1777", "--size", str(limits.disk * share // 8), "--tmpfs", path]
    args += ["--perms", "1777", "--size", str(limits.shm), "--tmpfs", "/dev/shm"]
    mounted = {WORKDIR, "/tmp", "/var/tmp", "/var"}
    for path in python_paths():
        for parent in reversed(Path(path).parents[:-1]):   # else bwrap makes them 0700
            if str(parent) not in mounted:
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", path, path]
    args += ["--chdir", WORKDIR]
    if mode == "root":
        args += ["--cap-add", "CAP_SETUID,CAP_SETGID"]    # for setpriv only; dropped with the uid
    return args


class UidLease:
    """A sandbox uid nobody else holds: one lock file per uid, in a directory
    only root can enter, locked for the sandbox's lifetime (several grader
    processes may run at once)."""

    folder = Path(tempfile.gettempdir()) / "course-grader-uids"

    def __enter__(self) -> int:
        self.folder.mkdir(mode=0o700, exist_ok=True)
        start = int.from_bytes(os.urandom(2), "little") % UID_SLOTS
        for step in range(UID_SLOTS):
            slot = (start + step) % UID_SLOTS
            fd = os.open(self.folder / str(slot), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.fd = fd
            return UID_BASE + slot
        raise RuntimeError(f"all {UID_SLOTS} sandbox uids are in use")

    def __exit__(self, *exc) -> None:
        os.close(self.fd)


def child_env(home: str, tmp: str = "/tmp") -> dict[str, str]:
    """A small, explicit environment: nothing of the instructor's leaks in."""
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home, "JUPYTER_RUNTIME_DIR": home, "JUPYTER_DATA_DIR": home,
        "IPYTHONDIR": home + "/.ipython", "MPLCONFIGDIR": home + "/.mpl", "MPLBACKEND": "Agg",
        "TMPDIR": tmp,
        "PYTHONPATH": str(Path(course_utils.__file__).parent.parent),   # the grader's own copy
        "COURSE_PROFILE": "grading", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",   # same submission -> same run
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "TQDM_DISABLE": "0",
    }


def rlimits(limits: Limits, nproc: bool) -> list[str]:
    args = [f"--as={ADDRESS_SPACE}", f"--fsize={FILE_SIZE}", "--core=0"]
    return args + ([f"--nproc={limits.processes}"] if nproc else [])


def run_sandboxed(notebook, limits: Limits, files_in: dict[str, bytes] | None = None,
                  files_out: list[str] | None = None) -> SandboxResult:
    """Execute ``notebook`` in a sandbox. ``files_in`` (``verdict/...`` -> bytes)
    are written into its directory by the child itself; ``files_out`` are the
    files it sends back if the kernel left them."""
    mode = isolation()
    request = pack({"options.json": json.dumps({
        "cell_timeout": limits.cell_timeout, "notebook_limit": limits.notebook_limit,
        "files_out": files_out or []}).encode(),
        "notebook.ipynb": nbformat.writes(notebook).encode(), **(files_in or {})})
    child = [sys.executable, "-m", "course_utils.instructor.grading.sandbox_exec"]
    if mode == "none":
        with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
            env = child_env(tmp, tmp)
            return _run(["prlimit", *rlimits(limits, False), "--", *child] if shutil.which("prlimit")
                        else child, tmp, env, request, limits, Defences(limits=_described(limits, None)))
    with UidLease() as uid:
        group = Cgroup.create(f"sandbox-{uid}", limits.memory, limits.processes) if mode == "root" else None
        defences = Defences(
            isolation={"root": "bubblewrap as root", "user": "bubblewrap in a user namespace"}[mode],
            unique_user=mode == "root", private_tmp=True, course_invisible=True,
            namespaces=["pid", "ipc", "net", "uts", "mount"] + (["user"] if mode == "user" else []),
            cgroup=f"v{group.version}" if group else "", limits=_described(limits, group))
        command = [*bwrap_args(mode, limits, uid), "--"]
        if mode == "root":
            command += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                        "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
            command = ["prlimit", *rlimits(limits, True), "--", *command]
            if group:
                command = ["sh", "-c", ATTACH, "sh", *group.procs_files, "--", *command]
        try:
            result = _run(command + child, "/", child_env(WORKDIR), request, limits, defences)
        finally:
            peak, oom = (group.peak_memory(), group.oom_kills()) if group else (None, 0)
            if group:
                group.remove()
        defences.peak_memory_mib = None if peak is None else round(peak / 2**20, 1)
        if oom:
            result.status["events"].append(f"the sandbox's memory limit ({limits.memory / 2**30:g} "
                                           f"GiB) killed {oom} of its processes")
        return result


def _described(limits: Limits, group: Cgroup | None) -> list[str]:
    whole = "whole sandbox" if group else "per process only"
    return [f"memory {limits.memory / 2**30:g} GiB ({whole})" if group else
            f"address space {ADDRESS_SPACE / 2**30:g} GiB (per process only)",
            f"processes {limits.processes} ({whole})" if group else "processes: no limit",
            f"disk {limits.disk / 2**20:g} MiB + /dev/shm {limits.shm / 2**20:g} MiB",
            f"file size {FILE_SIZE / 2**20:g} MiB", "no core"]


def spawn(command: list[str], cwd: str, env: dict) -> subprocess.Popen:
    """Start the child with pipes, in its own session. No ``preexec_fn``: with
    one, Python must fork(), and OpenBLAS's fork handler stalls while a judge's
    matmul runs in another thread (``--jobs 2`` deadlocked); without, Python
    uses vfork/posix_spawn, which run no fork handlers. Limits are set by
    ``prlimit`` and the cgroup by the launcher instead."""
    return subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _run(command: list[str], cwd: str, env: dict, request: bytes, limits: Limits,
         defences: Defences) -> SandboxResult:
    process = spawn(command, cwd, env)
    out, err = bytearray(), collections.deque()
    threads = [threading.Thread(target=_feed, args=(process.stdin, request), daemon=True),
               threading.Thread(target=_read_bounded, args=(process.stdout, out), daemon=True),
               threading.Thread(target=_read_tail, args=(process.stderr, err), daemon=True)]
    for thread in threads:
        thread.start()
    killed = False
    try:
        process.wait(timeout=limits.notebook_limit + KILL_GRACE)
    except subprocess.TimeoutExpired:
        killed = True
    finally:                  # also on Ctrl-C in the parent: nothing outlives it
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for thread in threads:
        thread.join(timeout=10)
    notebook, status, files = _results(bytes(out))
    if killed:
        status["reason"] = (f"killed after {limits.notebook_limit + KILL_GRACE:g} s "
                            "(whole-notebook limit); nothing it ran counts")
    tail = b"".join(err).decode("utf-8", "replace")[-2000:]
    return SandboxResult(notebook, status, defences, process.returncode, killed, tail, files)


def _feed(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
    except (BrokenPipeError, OSError):
        pass                  # the child died early: its status says why
    finally:
        try:
            pipe.close()
        except OSError:
            pass


def _read_bounded(pipe, out: bytearray) -> None:
    """At most MAX_RESULTS bytes are kept; the rest is drained and dropped."""
    while chunk := pipe.read(2**16):
        if len(out) <= MAX_RESULTS:
            out += chunk[:MAX_RESULTS + 1 - len(out)]


def _read_tail(pipe, tail: collections.deque) -> None:
    """Only the last STDERR_TAIL bytes of the child's stderr are kept."""
    size = 0
    while chunk := pipe.read(2**16):
        tail.append(chunk)
        size += len(chunk)
        while size - len(tail[0]) >= STDERR_TAIL:
            size -= len(tail.popleft())


def _results(data: bytes) -> tuple[nbformat.NotebookNode | None, dict, dict[str, bytes]]:
    """What the child sent: executed notebook, status, probe files (untrusted)."""
    failed = {"stopped_at": 0, "events": []}
    if len(data) > MAX_RESULTS:
        return None, failed | {"reason": f"the sandbox sent more than {MAX_RESULTS} bytes"}, {}
    try:
        items = unpack(data)
        refused = executed_refused(items.get("executed.ipynb", b""))   # before parsing (limits.py)
        if refused:
            return None, failed | {"reason": f"{refused}; nothing was graded"}, {}
        notebook = nbformat.reads(items.pop("executed.ipynb").decode("utf-8", "replace"), as_version=4)
    except (FrameError, KeyError, ValueError, TypeError, UnicodeError) as error:
        return None, failed | {"reason": "the sandbox produced no executed notebook "
                               f"({type(error).__name__})"}, {}
    except Exception as error:          # nbformat's own errors
        return None, failed | {"reason": f"the executed notebook is unreadable ({type(error).__name__})"}, {}
    try:
        status = json.loads(items.pop("status.json", b"{}"))
        status = status if isinstance(status, dict) else {}
    except ValueError:
        status = {}
    status.setdefault("events", [])
    status.setdefault("stopped_at", None)
    if not isinstance(status["events"], list):
        status["events"] = []
    return notebook, status, items
