"""Run one prepared notebook in a sandboxed child process.

Defences, each detected at run time and recorded in ``Defences``:
- a fresh temporary directory holding only the notebook to run;
- ``unshare``: no network, own PID namespace (everything the submission
  starts dies with it, other kernels are invisible) and own mount namespace
  in which the course's gradebook, solutions/ and other students' work are
  covered by empty mounts (so even absolute paths find nothing);
- ``setpriv``: when the grader is root, the child runs as an unprivileged
  user (nobody) with no supplementary groups and no_new_privs;
- rlimits (set in ``preexec_fn``): address space, file size, processes (only
  for the dedicated uid: RLIMIT_NPROC counts all processes of a uid), no core;
- a wall-clock limit for the whole notebook (the child stops cleanly; the
  parent kills the process group a little later if it did not).
"""
from __future__ import annotations

import functools
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from ..course import REPO, SOLUTIONS

SANDBOX_UID = SANDBOX_GID = 65534          # nobody / nogroup
ADDRESS_SPACE = 4 * 2**30
FILE_SIZE = 50 * 2**20
PROCESSES = 1024                           # per uid, shared by all parallel sandboxes
KILL_GRACE = 30                            # s after the notebook limit before SIGKILL
MAX_FILE_BACK = 64 * 2**20 + 1             # a probe's result larger than this is refused

# Mount namespace setup, run as root inside `unshare` before dropping privileges.
# The new network namespace has only a loopback device, brought up here.
# Arguments: HOME STASH EXPOSE... -- HIDE... -- COMMAND...
# The grader's home (root's, often 0700, holding its credentials and maybe the
# Python installation) is covered by an empty tmpfs, and only the Python
# installation found under it (EXPOSE) is mounted back. Each secret directory
# (HIDE) gets an empty read-only tmpfs, each secret file /dev/null.
HIDE_SCRIPT = r"""
ip link set lo up || exit 97        # the kernel talks to its client over loopback
mount --make-rprivate / || exit 97
home="$1"; stash="$2"; shift 2; exposed=""; n=0
while [ "$1" != "--" ]; do
  mkdir -p "$stash/$n" && mount --rbind "$1" "$stash/$n" || exit 97
  exposed="$exposed $1"; n=$((n+1)); shift
done
shift
if [ -n "$home" ]; then
  mount -t tmpfs -o mode=0711,size=64k none "$home" || exit 97
  n=0
  for path in $exposed; do
    mkdir -p "$path" && mount --move "$stash/$n" "$path" || exit 97; n=$((n+1))
  done
fi
while [ "$1" != "--" ]; do
  if [ -d "$1" ]; then mount -t tmpfs -o ro,size=4k none "$1" || exit 97
  elif [ -e "$1" ]; then mount --bind -o ro /dev/null "$1" || exit 97
  fi
  shift
done
shift
exec "$@"
"""
UNSHARE = ["unshare", "--net", "--pid", "--fork", "--mount", "--mount-proc", "--kill-child"]


@dataclass
class Limits:
    cell_timeout: float = 300
    notebook_limit: float = 1800


@dataclass
class Defences:
    fresh_directory: bool = True
    unprivileged_user: bool = False
    no_network: bool = False
    pid_namespace: bool = False
    hidden_course_paths: bool = False
    rlimits: list[str] = field(default_factory=list)
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
def available() -> tuple[bool, bool]:
    """(can drop to the sandbox uid, can use namespaces), tried once."""
    is_root = os.geteuid() == 0
    setpriv = is_root and shutil.which("setpriv") is not None
    namespaces = is_root and shutil.which("unshare") is not None and subprocess.run(
        [*UNSHARE, "--", "sh", "-c", HIDE_SCRIPT, "sh", "", "/nonexistent", "--", "--", "true"],
        capture_output=True).returncode == 0
    return setpriv, namespaces


def secret_paths(course_root: Path) -> list[Path]:
    """What a submission must never read: gradebook, sources, everyone's work."""
    roots = {course_root.resolve(), REPO}
    names = ["gradebook.db", SOLUTIONS, "source", "submitted", "autograded", "feedback",
             "grading_logs", "release", ".git"]
    return sorted(r / n for r in roots for n in names if (r / n).exists())


def home_cover() -> tuple[str, list[str]]:
    """The grader's home to cover, and the Python installations under it to keep."""
    home = Path(os.path.expanduser("~")).resolve()
    if home == Path("/") or not home.is_dir():
        return "", []
    keep = {Path(p).resolve() for p in (sys.base_prefix, sys.prefix, sys.exec_prefix)}
    keep |= {Path(sys.executable).resolve().parent.parent}
    keep.add(REPO)  # course_utils itself (an editable install); its secrets are covered apart
    inside = sorted(str(p) for p in keep if home in p.parents)
    if any(" " in p or "\n" in p for p in inside):   # the script splits on spaces
        return "", []
    return str(home), inside


def _set_limits(nproc: bool) -> None:
    # Runs in the child between fork and exec: only async-signal-safe work.
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE, FILE_SIZE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if nproc:
        resource.setrlimit(resource.RLIMIT_NPROC, (PROCESSES, PROCESSES))


def child_env(workdir: Path) -> dict[str, str]:
    """A small, explicit environment: nothing of the instructor's leaks in."""
    home = str(workdir)
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home, "JUPYTER_RUNTIME_DIR": home, "JUPYTER_DATA_DIR": home,
        "IPYTHONDIR": home + "/.ipython", "MPLCONFIGDIR": home + "/.mpl", "MPLBACKEND": "Agg",
        "COURSE_PROFILE": "grading", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",   # same submission -> same run
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "TQDM_DISABLE": "0",
    }


def run_sandboxed(notebook, course_root: Path, limits: Limits, files_in: dict[str, bytes] | None = None,
                  files_out: list[str] | None = None) -> SandboxResult:
    """Execute ``notebook`` in the sandbox. ``files_in`` (relative path -> bytes) are
    written into its directory first; ``files_out`` are read back afterwards."""
    can_drop, namespaces = available()
    defences = Defences(unprivileged_user=can_drop, no_network=namespaces,
                        pid_namespace=namespaces, hidden_course_paths=namespaces,
                        rlimits=["address space 4 GiB", "file size 50 MB", "no core"]
                        + (["processes 1024 (sandbox uid)"] if can_drop else []))
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        os.chmod(tmp, 0o711)   # others may pass through, not list
        workdir = Path(tmp) / "run"
        workdir.mkdir(mode=0o700)
        nb_in, nb_out = workdir / "submission.ipynb", workdir / "executed.ipynb"
        nbformat.write(notebook, nb_in)
        written = [workdir, nb_in, *_write_files(workdir, files_in or {})]
        if can_drop:
            for path in written:
                os.chown(path, SANDBOX_UID, SANDBOX_GID)
        command = [sys.executable, "-m", "course_utils.instructor.grading.sandbox_exec",
                   str(nb_in), str(nb_out), "--cell-timeout", str(limits.cell_timeout),
                   "--notebook-limit", str(limits.notebook_limit)]
        if can_drop:
            command = ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_GID}",
                       "--clear-groups", "--no-new-privs", *command]
        if namespaces:
            home, keep = home_cover()
            stash = Path(tmp) / "stash"
            stash.mkdir(mode=0o700)
            command = [*UNSHARE, "--", "sh", "-c", HIDE_SCRIPT, "sh", home, str(stash), *keep, "--",
                       *map(str, secret_paths(course_root)), "--", *command]
        process = subprocess.Popen(command, cwd=workdir, env=child_env(workdir),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, start_new_session=True,
                                   preexec_fn=functools.partial(_set_limits, can_drop))
        killed = False
        try:
            _, stderr = process.communicate(timeout=limits.notebook_limit + KILL_GRACE)
        except subprocess.TimeoutExpired:
            killed = True
            os.killpg(process.pid, signal.SIGKILL)
            _, stderr = process.communicate()
        notebook_out, status = _read_results(nb_out)
        if killed:
            status["reason"] = (f"killed after {limits.notebook_limit + KILL_GRACE:g} s "
                                "(whole-notebook limit); nothing it ran counts")
        tail = stderr.decode("utf-8", "replace")[-2000:]
        back = {name: data for name in files_out or []
                if (data := _read_file(workdir / name, MAX_FILE_BACK)) is not None}
        return SandboxResult(notebook_out, status, defences, process.returncode, killed, tail, back)


def _write_files(workdir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write the inputs files; return every path created (to hand to the sandbox user)."""
    created = []
    for name, data in files.items():
        path = workdir / name
        for folder in reversed(path.relative_to(workdir).parents[:-1]):
            if not (workdir / folder).exists():
                (workdir / folder).mkdir()
                created.append(workdir / folder)
        path.write_bytes(data)
        created.append(path)
    return created


def _read_results(nb_out: Path) -> tuple[nbformat.NotebookNode | None, dict]:
    """Read what the sandbox wrote, refusing links (it controls the directory)."""
    try:
        text = _read_regular(nb_out)
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:
        return None, {"stopped_at": 0, "events": [],
                      "reason": f"the sandbox produced no executed notebook ({type(error).__name__})"}
    try:
        status = json.loads(_read_regular(Path(str(nb_out) + ".status.json")))
        status = status if isinstance(status, dict) else {}
    except Exception:
        status = {}
    status.setdefault("events", [])
    status.setdefault("stopped_at", None)
    return notebook, status


def _read_regular(path: Path) -> str:
    data = _read_file(path, 60 * 2**20)
    if data is None:
        raise OSError(f"{path.name} is missing or not a regular file")
    return data.decode("utf-8", "replace")


def _read_file(path: Path, limit: int) -> bytes | None:
    """At most ``limit`` bytes of a regular file; None for anything else (the
    sandbox controls its directory: links are refused)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(limit) if stat.S_ISREG(os.fstat(f.fileno()).st_mode) else None
