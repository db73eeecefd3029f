"""The sandboxed child: ``python -m course_grader.grading.sandbox_exec``.

Runs as the sandbox's own user in its own directory (the working directory).
Reads from stdin (frames.py) the notebook to run, the checks' inputs files
and the names of the files to send back; writes the inputs files; executes
the notebook cell by cell with nbclient under a per-cell and a whole-notebook
time limit; and writes to its stdout the executed notebook, what happened
(status) and the requested files that exist. The kernel never sees that
stdout: it is moved to a private descriptor before the kernel starts, and
this process is made non-dumpable so the kernel (same user) cannot open it
through /proc. Nothing here is trusted by the parent beyond "these are the
outputs": the parent judges and scores them itself.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import secrets
import signal
import socket
import stat
import subprocess
import sys
import time

from .frames import READY, pack, unpack
from .limits import fit_budget, limit_arriving, limit_outputs

MAX_INPUT = 512 * 2**20
MAX_FILE_BACK = 64 * 2**20 + 1        # a probe's result larger than this is not sent
PR_SET_DUMPABLE = 4
# nbclient's own default (no history file), given here since this process starts the kernel
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]


# The kernel: ipykernel without its debugger (debugpy's import is a tenth of the kernel's
# start, and no one debugs in the sandbox)
KERNEL_LAUNCHER = ("import sys; sys.modules['debugpy'] = None; "
                   "from ipykernel.kernelapp import launch_new_instance; launch_new_instance()")
PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


class Kernel:
    """The notebook's kernel, started by this process itself, with the part of
    jupyter_client's kernel manager that nbclient uses. jupyter_client's own
    manager cost every submission 0.3 s of imports before the launch, a 0.2 s
    wait for silence on iopub and a 0.1 s polled shutdown."""

    has_kernel = True

    def __init__(self, cwd: str, env: dict, home: str):
        self.connection = connection_info()
        self.connection_file = os.path.join(home, "kernel.json")
        fd = os.open(self.connection_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.connection, f)
        self.process = subprocess.Popen(
            [sys.executable, "-c", KERNEL_LAUNCHER, "-f", self.connection_file, *KERNEL_ARGUMENTS],
            cwd=cwd, env=dict(env, JPY_PARENT_PID=str(os.getpid())),    # the kernel exits if this process dies
            stdin=subprocess.DEVNULL, start_new_session=True)

    def client(self):
        client = kernel_client_class()()
        client.load_connection_info(self.connection)
        client.process = self.process
        return client

    def is_alive(self) -> bool:
        return self.process.poll() is None

    def interrupt_kernel(self) -> None:
        self._signal(signal.SIGINT)

    def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        self._signal(signal.SIGKILL)       # every output is in by then (nbclient waited for idle)
        self.process.wait()

    def cleanup_resources(self, restart: bool = False) -> None:
        with contextlib.suppress(OSError):
            os.remove(self.connection_file)

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)     # the kernel and whatever it started


def connection_info() -> dict:
    """Free loopback ports (the sandbox's network namespace is its own) and a key."""
    sockets = [socket.socket() for _ in PORTS]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        ports = {name: sock.getsockname()[1] for name, sock in zip(PORTS, sockets)}
    finally:
        for sock in sockets:
            sock.close()
    return {"transport": "tcp", "ip": "127.0.0.1", "key": secrets.token_hex(32),
            "signature_scheme": "hmac-sha256", **ports}


@functools.lru_cache(maxsize=None)
def kernel_client_class():
    from queue import Empty

    from jupyter_client.asynchronous.client import AsyncKernelClient

    class KernelClient(AsyncKernelClient):
        """Alive is the kernel's process alive; ready is a kernel_info reply on shell
        and a message on iopub (so its subscription is live). Stale iopub messages are
        left in place: nbclient reads only those of its own requests."""
        process: subprocess.Popen

        async def is_alive(self) -> bool:
            return self.process.poll() is None

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            timeout = timeout or 60
            deadline = time.monotonic() + timeout
            while True:
                self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    reply = None
                if reply is not None and reply["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.2)
                        return
                    except Empty:
                        pass                  # iopub not connected yet: ask again
                if not await self.is_alive():
                    raise RuntimeError("the kernel died before it replied to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the kernel did not reply within {timeout:g} s")
    return KernelClient


@functools.lru_cache(maxsize=None)
def bounded_client_class():
    from nbclient import NotebookClient

    class BoundedClient(NotebookClient):
        """Outputs are cut as they arrive, so a flood of prints or of writes to
        fd 2 cannot fill the sandbox's memory before its cell ends."""
        cut = 0

        def output(self, outs, msg, display_id, cell_index):
            out = super().output(outs, msg, display_id, cell_index)
            if out is not None:
                self.cut += limit_arriving(outs, out, display_id)
            return out
    return BoundedClient


def run(notebook, kernel, *, cell_timeout: float, notebook_limit: float, cwd: str) -> dict:
    """Execute the notebook's cells in ``kernel`` (a started ``Kernel``), which is shut down after."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    status = {"stopped_at": None, "reason": None, "events": []}
    deadline = time.monotonic() + notebook_limit
    client = bounded_client_class()(
        notebook, km=kernel, timeout=int(cell_timeout), allow_errors=True, interrupt_on_timeout=True,
        record_timing=False, resources={"metadata": {"path": cwd}},
        shutdown_kernel="immediate")
    with client.setup_kernel(cleanup_kc=True):
        status["events"] += seal_kernel(client, notebook)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                status.update(stopped_at=index, reason="time limit for the whole notebook "
                              f"({notebook_limit:g} s) reached; later cells were not run")
                break
            client.timeout = max(1, int(min(cell_timeout, remaining)))
            started = time.monotonic()
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                status.update(stopped_at=index, reason=f"the kernel died in cell {index} "
                              "(e.g. os._exit, a crash or the memory limit); later cells were not run")
                break
            except CellTimeoutError:
                status.update(stopped_at=index, reason=f"cell {index} ran past its time limit "
                              "and could not be interrupted; later cells were not run")
                break
            if time.monotonic() - started >= client.timeout:
                status["events"].append(f"cell {index} was interrupted after its time limit "
                                        f"({client.timeout} s)")
    status["truncated_outputs"] = client.cut
    return status


SEAL_SOURCE = "__import__('course_utils.verdict').verdict.seal()"


def seal_kernel(client, notebook) -> list[str]:
    """Bind the sealed probe runner (course_utils.verdict.seal) before any cell of
    the notebook runs; not in the history, not in the executed notebook."""
    import nbformat

    cell = nbformat.v4.new_code_cell(SEAL_SOURCE)
    notebook.cells.insert(0, cell)
    try:
        client.execute_cell(cell, 0, store_history=False)
    finally:
        notebook.cells.pop(0)
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    return [f"the grader could not seal its probe runner ({errors[0].get('ename')}: "
            f"{str(errors[0].get('evalue'))[:200]}); no hidden check can pass"] if errors else []


def read_back(path: str) -> bytes | None:
    """A regular file the kernel left, at most MAX_FILE_BACK bytes; None for a
    link, a directory, a fifo or nothing."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(MAX_FILE_BACK)


def write_inputs(files: dict[str, bytes], exchange_dir: str) -> None:
    os.makedirs(exchange_dir, exist_ok=True)
    for name, data in files.items():
        if os.path.dirname(name) != exchange_dir:
            raise ValueError(f"inputs file {name!r} outside {exchange_dir}/")
        with open(name, "wb") as f:
            f.write(data)


def hide_results_channel() -> int:
    """Keep stdout for the results; the kernel's fd 1 becomes /dev/null."""
    channel = os.dup(1)                   # not inheritable: the kernel does not get it
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(1, "w", closefd=False)
    try:
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    return channel


def execution_failed(error: Exception) -> dict:
    return {"stopped_at": 0, "reason": f"execution failed: {type(error).__name__}: {str(error)[:500]}",
            "events": []}


def main() -> None:
    request = unpack(sys.stdin.buffer.read(MAX_INPUT))
    options = json.loads(request.pop("options.json"))
    source = request.pop("notebook.ipynb").decode()
    json.loads(source)                          # a broken request stops here, before READY
    exchange_dir = options["exchange_dir"]      # course_utils.verdict's, sent by the parent
    write_inputs(request, exchange_dir)
    channel = hide_results_channel()
    os.write(channel, READY)
    cwd = os.getcwd()
    env = dict(os.environ, **{options["exchange_env"]: os.path.join(cwd, exchange_dir)})
    try:
        kernel = Kernel(cwd, env, os.environ["JUPYTER_DATA_DIR"])    # the sandbox's home
    except Exception as error:  # the kernel could not start
        kernel, status = None, execution_failed(error)
    import nbformat

    notebook = nbformat.reads(source, as_version=4)
    try:
        if kernel is not None:
            status = run(notebook, kernel, cell_timeout=options["cell_timeout"],
                         notebook_limit=options["notebook_limit"], cwd=cwd)
    except Exception as error:  # nbclient broke
        status = execution_failed(error)
    status["truncated_outputs"] = status.get("truncated_outputs", 0) + limit_outputs(notebook)
    dropped = fit_budget(notebook)
    if dropped:
        status.setdefault("events", []).append(dropped)
    results = {"executed.ipynb": nbformat.writes(notebook).encode(),
               "status.json": json.dumps(status).encode()}
    for name in options["files_out"]:
        data = read_back(os.path.join(cwd, name))
        if data is not None:
            results[name] = data
    with os.fdopen(channel, "wb") as out:
        out.write(pack(results))


if __name__ == "__main__":
    main()
    # The results are sent and the kernel is dead: skip the interpreter's shutdown
    # (zmq's context and threads: 0.1 s of every submission).
    sys.stderr.flush()
    os._exit(0)
