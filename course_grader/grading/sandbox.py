"""Run one prepared notebook in a sandbox of its own.

As root, with Debian's ``bubblewrap`` (``bwrap``), each submission gets:
- its own user: a uid from a reserved range, held by a lock for the
  sandbox's lifetime, so no two sandboxes share a uid (files, signals,
  /proc, the per-uid process limit);
- an empty root file system with only what the kernel needs, read-only:
  /usr (and its /bin, /lib links), a few /etc files, and at neutral paths
  the Python installation (/opt/python), the virtual environment (/opt/venv)
  the ``course_utils`` package and the grader's sandbox child (RUNNER) under /opt/course:
  no instructor path shows, and no other grader code.
  Nothing of the course (gradebook, solutions, submissions, autograded
  notebooks, exports, the repository's tests) and no socket of the host;
- its own working directory, /tmp, /var/tmp and /dev/shm, each a tmpfs with
  a size limit (together the sandbox's disk), all gone when it ends;
- its own PID, IPC, network (loopback only), UTS and cgroup namespaces;
  everything it starts dies with it (``--die-with-parent``, PID namespace);
- a control group limiting memory (tmpfs included), processes and CPU (an
  equal share beside the other sandboxes, at most ``Limits.cpus``) for the
  whole sandbox (cgroup.py), and rlimits per process (address space, file
  size, processes of its uid, no core);
- no kernel keyring: a seccomp filter fails ``add_key``, ``keyctl`` and
  ``request_key`` (keyrings are in no namespace: a key was a channel from
  one sandbox to the next);
- a wall-clock limit for the whole notebook.

Data crosses only through pipes (frames.py): the parent never writes, reads,
chowns or follows a path inside the sandbox. The grader's own state (the uid
leases) lives in a root-owned 0700 directory it checks on every use. A
sandbox that fails for the grader's reasons (no state directory, no uid, the
sandbox did not start) raises ``GraderFailure``: nothing is recorded, and a
re-run grades the submission. Not root but unprivileged user
namespaces allowed: the same file system and namespaces, the instructor's
uid inside, no cgroup. Neither: a plain child process in a fresh temporary
directory (recorded; see docs/grading.md).
"""
from __future__ import annotations

import collections
import contextlib
import fcntl
import functools
import importlib.util
import json
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from course_utils.verdict import EXCHANGE_DIR, VERDICT_DIR_ENV

from .cgroup import Cgroup
from .frames import READY, FrameError, pack, unpack
from .limits import executed_refused

UID_BASE, UID_SLOTS = 1_900_000_000, 4096     # no real account lives here
ADDRESS_SPACE = 4 * 2**30                      # per process
FILE_SIZE = 100 * 2**20
KILL_GRACE = 30                                # s after the notebook limit before SIGKILL
MAX_RESULTS = 256 * 2**20                      # what the parent reads from the child's stdout
STDERR_TAIL = 64 * 2**10
WORKDIR = "/grading"                           # the sandbox's directory, HOME and cwd
# The grader's own directory (root, 0700): the uid leases. COURSE_GRADER_STATE
# names another where /run is not writable; it is checked the same way.
STATE_DIR = Path(os.environ.get("COURSE_GRADER_STATE", "/run/course-grader"))
# Where the sandbox sees Python: no instructor path (/root/.pyenv, the checkout) shows.
OPT_PYTHON, OPT_VENV, OPT_COURSE = "/opt/python", "/opt/venv", "/opt/course"
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
    cpus: float = 2                # whole sandbox (cgroup quota), besides its equal share


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


class GraderFailure(RuntimeError):
    """The grader, not the submission, failed: its state directory is wrong,
    no uid could be leased, the sandbox did not start. Nothing is recorded;
    a re-run grades the submission."""


@functools.lru_cache(maxsize=None)
def isolation() -> str:
    """Which sandbox this machine allows, tried once."""
    if shutil.which("bwrap") is None:
        return "none"
    as_root = os.geteuid() == 0 and shutil.which("setpriv") and shutil.which("prlimit")
    mode = "root" if as_root else "user"
    with descriptors() as fds:
        probe = [*bwrap_args(mode, Limits(), fds), "--", "/bin/true"]
        if mode == "root":
            probe[-1:] = ["setpriv", f"--reuid={UID_BASE}", f"--regid={UID_BASE}", "--clear-groups", "/bin/true"]
        ok = subprocess.run(probe, capture_output=True, stdin=subprocess.DEVNULL,
                            pass_fds=list(fds.values())).returncode == 0
    return mode if ok else "none"


def preflight() -> None:
    """Raise ``GraderFailure`` now, before any submission, if sandboxes cannot
    get their uids (a run would otherwise fail every one of them)."""
    if isolation() == "root":
        os.close(open_state_dir())


def _base() -> Path:
    return Path(sys.base_prefix).resolve()


def inside(path: str | Path) -> str:
    """Where the sandbox sees a host path of the Python installation."""
    path, base = Path(path).resolve(), _base()
    if base == Path("/usr") or not path.is_relative_to(base):
        return str(path)                  # /usr is mounted where it is
    return str(OPT_PYTHON / path.relative_to(base))


def in_venv() -> bool:
    return Path(sys.prefix).resolve() != _base()


def sandbox_python() -> str:
    """The interpreter the sandbox runs, by its path inside."""
    return f"{OPT_VENV}/bin/python" if in_venv() else inside(sys.executable)


def python_mounts() -> list[tuple[str, str]]:
    """(host path, path inside): the installation, the environment's lib
    folders (its bin/ and pyvenv.cfg are made in the sandbox, pointing at
    /opt/python), the package."""
    mounts = [] if _base() == Path("/usr") else [(str(_base()), OPT_PYTHON)]
    if in_venv():
        for name in ("lib", "lib64"):
            folder = Path(sys.prefix) / name
            if folder.is_dir() and not folder.is_symlink():
                mounts.append((str(folder.resolve()), f"{OPT_VENV}/{name}"))
    grader = package_dir("course_grader")
    return mounts + [(str(package_dir("course_utils")), f"{OPT_COURSE}/course_utils")] + [
        (str(grader / name), f"{OPT_COURSE}/course_grader/{name}") for name in RUNNER]


# The grader's files the sandbox sees: the child and what it imports, nothing else of the
# grader (tests/test_grader_package.py checks that these are all it imports).
RUNNER = ("__init__.py", "grading/__init__.py", "grading/sandbox_exec.py", "grading/frames.py", "grading/limits.py")


def package_dir(name: str) -> Path:
    """The folder of the top-level package ``name``, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the package {name} is not installed in {sys.prefix}")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def pyvenv_cfg() -> bytes:
    """The environment's pyvenv.cfg as the sandbox sees it: its home is /opt/python's."""
    host = Path(sys.prefix) / "pyvenv.cfg"
    system = "false"
    for line in host.read_text().splitlines() if host.is_file() else []:
        key, _, value = line.partition("=")
        if key.strip() == "include-system-site-packages":
            system = value.strip()
    version = ".".join(map(str, sys.version_info[:3]))
    home = str(Path(inside(sys.executable)).parent)
    return f"home = {home}\ninclude-system-site-packages = {system}\nversion = {version}\n".encode()


# Classic BPF, as the kernel's seccomp reads it (struct sock_filter, struct seccomp_data).
LD_ABS, JEQ, AND, RET = 0x20, 0x15, 0x54, 0x06
ALLOW, FAIL = 0x7FFF0000, 0x00050000 | 1         # SECCOMP_RET_ERRNO | EPERM
# audit arch -> (add_key, request_key, keyctl), and the bits to clear from the number (x32)
KEYRING_CALLS = {0xC000003E: ((248, 249, 250), 0xBFFFFFFF),   # x86_64 (and x32)
                 0x40000003: ((286, 287, 288), 0xFFFFFFFF),   # i386
                 0xC00000B7: ((217, 218, 219), 0xFFFFFFFF),   # aarch64
                 0x40000028: ((309, 310, 311), 0xFFFFFFFF)}   # arm


def keyring_filter() -> bytes:
    """A seccomp program that fails the keyring calls (EPERM), allows the rest."""
    program = [(LD_ABS, 0, 0, 4)]                 # the architecture
    for arch, (calls, mask) in KEYRING_CALLS.items():
        block = [(LD_ABS, 0, 0, 0), (AND, 0, 0, mask)]     # the call's number
        block += [(JEQ, len(calls) - i, 0, call) for i, call in enumerate(calls)]
        block += [(RET, 0, 0, ALLOW), (RET, 0, 0, FAIL)]
        program += [(JEQ, 0, len(block), arch)] + block     # another architecture: skip the block
    program += [(RET, 0, 0, ALLOW)]
    return b"".join(struct.pack("<HBBI", *instruction) for instruction in program)


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


@contextlib.contextmanager
def descriptors():
    """What bwrap reads from descriptors (passed with ``pass_fds``): the
    seccomp program, and the sandbox's pyvenv.cfg."""
    fds = {"seccomp": _memfd("seccomp", keyring_filter())}
    if in_venv():
        fds["pyvenv"] = _memfd("pyvenv.cfg", pyvenv_cfg())
    try:
        yield fds
    finally:
        for fd in fds.values():
            os.close(fd)


def bwrap_args(mode: str, limits: Limits, fds: dict[str, int]) -> list[str]:
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
    runner_dirs = (f"{OPT_COURSE}/course_grader", f"{OPT_COURSE}/course_grader/grading")
    for folder in ("/opt", OPT_COURSE, *runner_dirs) + ((OPT_VENV, f"{OPT_VENV}/bin") if in_venv() else ()):
        args += ["--perms", "0755", "--dir", folder]     # else bwrap makes them 0700
    for host, path in python_mounts():
        args += ["--ro-bind", host, path]
    if in_venv():
        lib64 = Path(sys.prefix) / "lib64"
        if lib64.is_symlink():
            args += ["--symlink", os.readlink(lib64), f"{OPT_VENV}/lib64"]
        for name in ("python", "python3"):
            args += ["--symlink", inside(sys.executable), f"{OPT_VENV}/bin/{name}"]
        args += ["--perms", "0644", "--ro-bind-data", str(fds["pyvenv"]), f"{OPT_VENV}/pyvenv.cfg"]
    args += ["--seccomp", str(fds["seccomp"]), "--chdir", WORKDIR]
    if mode == "root":
        args += ["--cap-add", "CAP_SETUID,CAP_SETGID"]    # for setpriv only; dropped with the uid
    return args


def open_state_dir() -> int:
    """The grader's state directory, opened (no link followed): created
    root-owned 0700 if missing, refused (``GraderFailure``, saying what to do)
    if anything else sits there: a local user who planted it, or a file in
    its place, must not stop or steer the grading."""
    try:
        os.mkdir(STATE_DIR, 0o700)
    except FileExistsError:
        pass                          # checked below, whoever made it
    except OSError as error:
        raise GraderFailure(f"cannot create the grader's state directory {STATE_DIR}: {error}; "
                            "COURSE_GRADER_STATE names another (made root-only by the grader)") from None
    try:
        fd = os.open(STATE_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        raise GraderFailure(_state_refused("is not a directory (a file or a link sits there)")) from None
    info = os.fstat(fd)
    problem = (f"is owned by uid {info.st_uid}, not by the grader (uid {os.geteuid()})"
               if info.st_uid != os.geteuid() else
               f"has mode {stat.S_IMODE(info.st_mode):04o}, not 0700"
               if stat.S_IMODE(info.st_mode) != 0o700 else None)
    if problem:
        os.close(fd)
        raise GraderFailure(_state_refused(problem))
    return fd


def _state_refused(problem: str) -> str:
    return (f"the grader's state directory {STATE_DIR} {problem}; the grader made none of it "
            f"that way: check who did, remove it (rm -r {STATE_DIR}) and grade again")


class UidLease:
    """A sandbox uid nobody else holds: one lock file per uid in the grader's
    state directory (open_state_dir), locked for the sandbox's lifetime
    (several grader processes may run at once)."""

    def __enter__(self) -> int:
        folder = open_state_dir()
        try:
            start = int.from_bytes(os.urandom(2), "little") % UID_SLOTS
            for step in range(UID_SLOTS):
                slot = (start + step) % UID_SLOTS
                fd = _lock(f"uid-{slot}", folder)
                if fd is not None:
                    self.fd = fd
                    return UID_BASE + slot
        except OSError as error:
            raise GraderFailure(f"cannot lease a sandbox uid in {STATE_DIR}: {error}") from None
        finally:
            os.close(folder)
        raise GraderFailure(f"no sandbox uid free: all {UID_SLOTS} lease files in {STATE_DIR} "
                            "are locked by running sandboxes")

    def __exit__(self, *exc) -> None:
        os.close(self.fd)


def _lock(name: str, folder: int) -> int | None:
    """The lease file ``name``, locked; None if another sandbox holds it."""
    fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600, dir_fd=folder)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        os.close(fd)
        return None


def child_env(home: str, tmp: str = "/tmp", sandboxed: bool = True) -> dict[str, str]:
    """A small, explicit environment: nothing of the instructor's leaks in.
    ``sandboxed``: Python's paths as the sandbox sees them (/opt)."""
    python_bin = str(Path(sandbox_python() if sandboxed else sys.executable).parent)
    package = OPT_COURSE if sandboxed else str(package_dir("course_utils").parent)
    env = {
        "PATH": os.pathsep.join([python_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home, "JUPYTER_RUNTIME_DIR": home, "JUPYTER_DATA_DIR": home,
        "IPYTHONDIR": home + "/.ipython", "MPLCONFIGDIR": home + "/.mpl", "MPLBACKEND": "Agg",
        "TMPDIR": tmp,
        "PYTHONPATH": package,   # the grader's own copy
        "COURSE_PROFILE": "grading", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",   # same submission -> same run
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "TQDM_DISABLE": "0",
    }
    if sandboxed and inside(sys.base_prefix) == OPT_PYTHON:
        env["LD_LIBRARY_PATH"] = f"{OPT_PYTHON}/lib"   # libpython's RUNPATH names the host path
    return env


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
        "files_out": files_out or [], "exchange_dir": EXCHANGE_DIR, "exchange_env": VERDICT_DIR_ENV}).encode(),
        "notebook.ipynb": nbformat.writes(notebook).encode(), **(files_in or {})})
    module = ["-m", "course_grader.grading.sandbox_exec"]
    if mode == "none":
        with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
            env, child = child_env(tmp, tmp, sandboxed=False), [sys.executable, *module]
            return _run(["prlimit", *rlimits(limits, False), "--", *child] if shutil.which("prlimit")
                        else child, tmp, env, request, limits, Defences(limits=_described(limits, None)))
    # Only the root mode gives each sandbox a uid of its own (and so needs a lease).
    with UidLease() if mode == "root" else contextlib.nullcontext(UID_BASE) as uid, descriptors() as fds:
        group = (Cgroup.create(f"sandbox-{uid}", limits.memory, limits.processes, limits.cpus)
                 if mode == "root" else None)
        defences = Defences(
            isolation={"root": "bubblewrap as root", "user": "bubblewrap in a user namespace"}[mode],
            unique_user=mode == "root", private_tmp=True, course_invisible=True,
            namespaces=["pid", "ipc", "net", "uts", "mount"] + (["user"] if mode == "user" else []),
            cgroup=f"v{group.version}" if group else "", limits=_described(limits, group))
        command = [*bwrap_args(mode, limits, fds), "--"]
        if mode == "root":
            command += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                        "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
            command = ["prlimit", *rlimits(limits, True), "--", *command]
            if group:
                command = ["sh", "-c", ATTACH, "sh", *group.procs_files, "--", *command]
        try:
            result = _run(command + [sandbox_python(), *module], "/", child_env(WORKDIR), request, limits,
                          defences, list(fds.values()))
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
            f"CPU: an equal share, at most {limits.cpus:g} CPUs (whole sandbox)"
            if group and group.cpu_limited else "CPU: no share (time limits only)",
            f"disk {limits.disk / 2**20:g} MiB + /dev/shm {limits.shm / 2**20:g} MiB",
            f"file size {FILE_SIZE / 2**20:g} MiB", "no core"]


def spawn(command: list[str], cwd: str, env: dict, pass_fds: list[int] | None = None) -> subprocess.Popen:
    """Start the child with pipes, in its own session. No ``preexec_fn``: with
    one, Python must fork(), and OpenBLAS's fork handler stalls while a judge's
    matmul runs in another thread (``--jobs 2`` deadlocked); without, Python
    uses vfork/posix_spawn, which run no fork handlers. Limits are set by
    ``prlimit`` and the cgroup by the launcher instead."""
    return subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, pass_fds=pass_fds or ())


def _run(command: list[str], cwd: str, env: dict, request: bytes, limits: Limits,
         defences: Defences, pass_fds: list[int] | None = None) -> SandboxResult:
    process = spawn(command, cwd, env, pass_fds)
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
    tail = b"".join(err).decode("utf-8", "replace")[-2000:]
    if not out.startswith(READY):     # nothing of the submission ran: the grader's failure
        raise GraderFailure(f"the sandbox did not start (exit status {process.returncode}"
                            f"{', killed at the time limit' if killed else ''}): {tail[-500:].strip()}")
    notebook, status, files = _results(bytes(out[len(READY):]))
    if killed:
        status["reason"] = (f"killed after {limits.notebook_limit + KILL_GRACE:g} s "
                            "(whole-notebook limit); nothing it ran counts")
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
