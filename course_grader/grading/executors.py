"""Where the sandboxed executions run: threads of this process, or a Dask cluster.

The trusted parent (autograde.py) prepares every submission and scores and
records it itself (its judges run in the parent, or on a cluster run in judge
processes beside it: judges.py). An executor only runs ``SandboxTask``s: the
prepared notebook, the checks' inputs and the limits in; the executed
notebook, the status and the probes' result files out. Two of them:

- ``LocalExecutor(jobs)``: ``jobs`` sandboxes at once on this machine, each
  driven by a thread of this process (``--jobs N``, the default);
- ``DaskExecutor(address)``: each execution is one task, ``sandbox_task``,
  run by whichever worker of a Dask cluster gets it
  (``--scheduler tls://HOST:8786 --tls-dir DIR``, or ``--scheduler local:N``
  for a ``LocalCluster`` of N single-threaded worker processes on this
  machine). Who may connect is ``cluster_tls.py``'s: TLS both ways.

A worker that dies mid-run (killed, out of memory, its machine lost) costs
nothing: the scheduler gives its tasks to another worker, up to
``distributed.scheduler.allowed-failures`` deaths per task (3 by default);
past that, the submission is recorded as failed ("killed N workers",
``SubmissionLost``). Anything else that stops a task from reaching a result
(the scheduler gone, the run cancelled, a worker running another version of
the grader) is an ``ExecutorError``: nothing is recorded for that submission,
so a re-run grades it.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import socket
import threading
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from .sandbox import Defences, Limits, SandboxResult, package_dir, run_sandboxed

TASK_RETRIES = 2          # a task that raises (not one whose worker died) is tried again this often


@dataclass
class SandboxTask:
    notebook: nbformat.NotebookNode     # prepared by the parent (trusted)
    limits: Limits
    files_in: dict[str, bytes]          # the checks' inputs
    files_out: list[str]                # the result files the sandbox may send back
    label: str = ""                     # "student/notebook": names the task on the dashboard


class SubmissionLost(Exception):
    """Every worker that ran this submission died: it is recorded as failed, score 0."""


class ExecutorError(Exception):
    """The executor could not run the task (scheduler gone, run cancelled, a
    worker with another grader): nothing is recorded; a re-run grades it."""


@functools.lru_cache(maxsize=None)
def grader_version() -> str:
    """A digest of the grading code (this package and course_utils/verdict.py):
    a worker must run the same sandbox and probes as the parent."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in [*sorted(here.glob("*.py")), package_dir("course_utils") / "verdict.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def sandbox_task(notebook: bytes, limits: dict, files_in: dict[str, bytes],
                 files_out: list[str]) -> dict:
    """What a Dask worker runs: ``run_sandboxed`` with plain bytes, lists and
    dicts in and out (importable on every worker; no judge, no reference)."""
    result = run_sandboxed(nbformat.reads(notebook.decode("utf-8"), as_version=4), Limits(**limits),
                           files_in=files_in, files_out=files_out)
    return {"notebook": None if result.notebook is None else json.dumps(result.notebook).encode(),
            "status": result.status, "defences": asdict(result.defences),
            "returncode": result.returncode, "killed": result.killed,
            "stderr_tail": result.stderr_tail, "files": dict(result.files),
            "worker": f"{socket.gethostname()}:{os.getpid()}", "grader": grader_version()}


def run_local(task: SandboxTask) -> tuple[SandboxResult, str]:
    """The task, run here by the calling thread."""
    return run_sandboxed(task.notebook, task.limits, task.files_in, task.files_out), "local"


def result_of(reply: dict) -> SandboxResult:
    """``sandbox_task``'s reply as the parent's ``SandboxResult``."""
    notebook = reply["notebook"]
    return SandboxResult(None if notebook is None else nbformat.from_dict(json.loads(notebook)),
                         reply["status"], Defences(**reply["defences"]), reply["returncode"],
                         reply["killed"], reply["stderr_tail"], reply["files"])


class _Counted:
    """Counts the executions in flight (the progress bar's "running")."""

    def __init__(self) -> None:
        self.running = 0
        self._lock = threading.Lock()

    @contextmanager
    def counted(self):
        with self._lock:
            self.running += 1
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1


class LocalExecutor(_Counted):
    """``jobs`` sandboxes at once on this machine (what ``--jobs`` always did)."""

    cluster = False

    def __init__(self, jobs: int | None = None) -> None:
        super().__init__()
        self.slots = max(1, jobs or os.cpu_count() or 1)

    def describe(self) -> str:
        return f"{self.slots} sandbox{'es' if self.slots > 1 else ''} at once on this machine"

    def run(self, task: SandboxTask) -> tuple[SandboxResult, str]:
        with self.counted():
            return run_local(task)

    def cancel(self) -> None:
        """Nothing to do: a running sandbox dies with this process (bwrap
        --die-with-parent); queued submissions are dropped by the caller."""

    def close(self) -> None:
        pass


class DaskExecutor(_Counted):
    """Each execution is one task of a Dask cluster.

    ``address``: a scheduler's (``tls://HOST:8786``; ``security``, from
    ``cluster_tls.scheduler_security``, holds the client certificate) or
    ``local:N``, a ``LocalCluster`` of N single-threaded worker processes
    here that only this process can join (``local_cluster``). ``jobs``:
    submissions in flight at once (default: twice the cluster's threads, so
    that a worker never waits for the parent)."""

    cluster = True

    def __init__(self, address: str, jobs: int | None = None, security=None,
                 wait_for_workers: float = 120) -> None:
        super().__init__()
        from distributed import Client

        self.address, self._cluster = address, None
        if address.startswith("local:"):
            try:
                workers = int(address.split(":", 1)[1])
            except ValueError:
                raise ValueError(f"local:N needs a number of workers, not {address!r}") from None
            if workers < 1:
                raise ValueError("local:N needs at least one worker")
            self._cluster = local_cluster(workers)
            self.client = Client(self._cluster, security=self._cluster.security)
        else:
            self.client = Client(address, timeout=30, security=security)
        try:
            self.client.wait_for_workers(1, timeout=wait_for_workers)
        except Exception:
            self.close()
            raise TimeoutError(f"no Dask worker joined {address} within {wait_for_workers:g} s") from None
        self.threads = sum(self.client.nthreads().values())
        self.slots = max(1, jobs or 2 * self.threads)
        self._futures: set = set()

    @property
    def dashboard_link(self) -> str | None:
        if self._cluster is not None:      # local:N serves no dashboard (local_cluster)
            return None
        try:
            return self.client.dashboard_link
        except Exception:          # a scheduler started without its dashboard
            return None

    def describe(self) -> str:
        workers = len(self.client.nthreads())
        return (f"Dask cluster {self.client.scheduler.address}: {workers} workers, {self.threads} "
                f"threads, {self.slots} submissions in flight")

    def run(self, task: SandboxTask) -> tuple[SandboxResult, str]:
        from distributed import KilledWorker
        from distributed.comm import CommClosedError
        from distributed.utils import CancelledError

        with self.counted():
            future = self.client.submit(
                sandbox_task, nbformat.writes(task.notebook).encode(), asdict(task.limits),
                task.files_in, task.files_out, key=f"sandbox-{task.label}-{uuid.uuid4().hex[:12]}",
                pure=False, retries=TASK_RETRIES)
            with self._lock:
                self._futures.add(future)
            try:
                reply = future.result()
            except KilledWorker as error:
                raise SubmissionLost(f"killed {error.allowed_failures + 1} workers (Dask's "
                                     f"allowed-failures is {error.allowed_failures})") from None
            except (CancelledError, CommClosedError, OSError, TimeoutError) as error:
                raise ExecutorError(f"the Dask task did not finish ({type(error).__name__}: "
                                    f"{str(error)[:200]})") from None
            finally:
                with self._lock:
                    self._futures.discard(future)
                future.release()
        if reply.get("grader") != grader_version():
            raise ExecutorError(f"worker {reply.get('worker')} runs another version of the grader "
                                f"({reply.get('grader')}, here {grader_version()}): update it")
        return result_of(reply), str(reply["worker"])

    def cancel(self) -> None:
        """Cancel every task not finished. A task already running goes on to
        its end on its worker (Dask cannot stop a running thread), unless the
        cluster is ours (``local:N``): closing it ends its workers and their
        sandboxes."""
        with self._lock:
            futures = list(self._futures)
        if futures:
            try:
                self.client.cancel(futures, force=True)
            except Exception:
                pass

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


def local_cluster(workers: int):
    """A ``LocalCluster`` of ``workers`` single-threaded processes that refuses
    everyone else: every connection (scheduler, workers, nannies) is TLS with
    a certificate made for this run and held in memory, on 127.0.0.1 only,
    and no dashboard: the scheduler's HTTP server (127.0.0.1, plain HTTP,
    no credentials) serves no page, as its info pages and dashboard would
    show any local user the students' names and the workers' logs."""
    import logging

    import dask
    from distributed import LocalCluster
    from distributed.security import Security

    with dask.config.set({"distributed.scheduler.http.routes": []}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            host="127.0.0.1", protocol="tls://", security=Security.temporary(),
                            dashboard_address=None, silence_logs=logging.ERROR)


def make_executor(scheduler: str | None, jobs: int | None = None, security=None):
    return DaskExecutor(scheduler, jobs, security) if scheduler else LocalExecutor(jobs)
