"""The Dask grading cluster is not an open root shell (issue 26, items 2 and 3).

Workers run whatever they are sent, as root: only a peer with a certificate
of the instructor's CA (a remote cluster, `course cluster-certs`) or of this
run (`--scheduler local:N`) may connect. On 127.0.0.1: a `dask scheduler`
started as docs/grading.md says and a `local:1` cluster each refuse a plain
TCP client, a TLS client without a certificate and one with another CA's,
and accept the right one; nothing of theirs listens beyond 127.0.0.1;
`course autograde/grade --scheduler` refuse an unencrypted address without
`--insecure` and a tls:// one without the client certificate. The grading
round trip over TLS is tests/test_grading_dask.py's.
"""
from __future__ import annotations

import os
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_grader.cli import main as course

from .adversarial import A

distributed = pytest.importorskip("distributed")
pytest.importorskip("cryptography")
psutil = pytest.importorskip("psutil")

from course_grader.grading.cluster_tls import (  # noqa: E402
    InsecureScheduler, client_security, scheduler_security)

pytestmark = pytest.mark.xdist_group("grading_dask")

DASK = str(Path(sys.executable).parent / "dask")
KEYS = ["scheduler-key.pem", "worker-key.pem", "client-key.pem"]
CERTS = ["ca.pem", "scheduler.pem", "worker.pem", "client.pem"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certs(folder: Path) -> Path:
    assert course(["cluster-certs", str(folder)]) == 0
    return folder


def listening(pids: set[int]) -> list[tuple[str, int]]:
    """The (address, port) every inet socket of ``pids`` listens on."""
    return [(c.laddr.ip, c.laddr.port) for c in psutil.net_connections("inet")
            if c.pid in pids and c.status == psutil.CONN_LISTEN]


def wait_listening(pid: int, port: int, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while (port not in {p for _, p in listening({pid})}) and time.monotonic() < end:
        time.sleep(0.2)
    assert port in {p for _, p in listening({pid})}, f"nothing of pid {pid} listens on {port}"


def connect(address: str, security=None):
    """A Dask client of ``address`` (the caller closes it)."""
    return distributed.Client(address, security=security, timeout=10)


def handshake_without_certificate(address: str) -> None:
    """A TLS connection that accepts any server but presents no certificate
    of its own, then one message and a read: the server must refuse it (TLS
    1.3 says so at the first read)."""
    host, port = address.removeprefix("tls://").rsplit(":", 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE          # only the server may refuse here
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with context.wrap_socket(raw) as tls:
            tls.sendall(b"\0" * 8)
            if tls.recv(1) == b"":
                raise ConnectionResetError("closed by the server")


def assert_refuses_strangers(address: str, foreign: Path) -> None:
    plain = address.replace("tls://", "tcp://")
    with pytest.raises((OSError, TimeoutError)):          # CommClosedError is an OSError
        connect(plain).close()
    with pytest.raises((ssl.SSLError, ConnectionError)):
        handshake_without_certificate(address)
    with pytest.raises((OSError, TimeoutError), match="(?i)certificate|TLS|closed"):
        connect(address, client_security(foreign)).close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    return make_certs(tmp_path_factory.mktemp("tls") / "certs")


@pytest.fixture(scope="module")
def foreign(tmp_path_factory) -> Path:
    """Another CA's complete set: valid certificates, but not this cluster's."""
    return make_certs(tmp_path_factory.mktemp("tls") / "foreign")


@pytest.fixture(scope="module")
def scheduler(certs, tmp_path_factory):
    """`dask scheduler` started as docs/grading.md says: TLS, 127.0.0.1."""
    port, dashboard = free_port(), free_port()
    log = open(tmp_path_factory.mktemp("scheduler") / "scheduler.log", "wb")
    process = subprocess.Popen(
        [DASK, "scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port", str(port),
         "--dashboard-address", f"127.0.0.1:{dashboard}", "--tls-ca-file", str(certs / "ca.pem"),
         "--tls-cert", str(certs / "scheduler.pem"), "--tls-key", str(certs / "scheduler-key.pem")],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_listening(process.pid, port)
        yield process, f"tls://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def test_cluster_certs_writes_a_ca_signed_set_whose_keys_only_their_owner_reads(tmp_path, capsys):
    from cryptography import x509

    folder = make_certs(tmp_path / "new" / "certs")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == sorted(CERTS + KEYS)   # no CA key kept
    assert {n: stat.S_IMODE((folder / n).stat().st_mode) for n in KEYS} == dict.fromkeys(KEYS, 0o600)
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    for name in CERTS[1:]:
        x509.load_pem_x509_certificate((folder / name).read_bytes()).verify_directly_issued_by(ca)
    # Never replaces what is there: the same command again writes nothing.
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    capsys.readouterr()
    assert course(["cluster-certs", str(folder)]) == 1
    assert "REFUSED" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_a_tls_scheduler_refuses_whoever_lacks_the_certificate(scheduler, certs, foreign):
    process, address = scheduler
    assert_refuses_strangers(address, foreign)
    client = connect(address, client_security(certs))
    try:
        assert client.scheduler_info()["address"] == address
    finally:
        client.close()
    sockets = listening({process.pid})
    assert len(sockets) == 2 and {ip for ip, _ in sockets} == {"127.0.0.1"}, sockets


def test_local_cluster_admits_only_this_run_and_listens_on_loopback_only(foreign):
    from course_grader.grading.executors import DaskExecutor

    executor = DaskExecutor("local:1")
    try:
        address = executor.client.scheduler.address
        assert address.startswith("tls://127.0.0.1:")
        assert executor.dashboard_link is None
        # Its own client (this run's in-memory certificate) runs code on the worker...
        assert list(executor.client.run(os.getpid).values())[0] != os.getpid()
        # ...nobody else does: no certificate, or one of another CA, or plain TCP.
        assert_refuses_strangers(address, foreign)
        worker = next(iter(executor.client.nthreads()))
        assert_refuses_strangers(worker, foreign)
        me = psutil.Process()
        sockets = listening({me.pid} | {p.pid for p in me.children(recursive=True)})
        # scheduler, its HTTP server (no pages), nanny, worker, the worker's HTTP server
        assert len(sockets) >= 4 and {ip for ip, _ in sockets} == {"127.0.0.1"}, sockets
    finally:
        executor.close()


@pytest.mark.parametrize("address, expected", [
    ("tcp://grading-cluster.invalid:8786", "is not encrypted"),
    ("tcp://127.0.0.1:8786", "is not encrypted"),   # other local users reach loopback too
    ("grading-cluster.invalid:8786", "is not encrypted"),
    ("tls://grading-cluster.invalid:8786", "needs the client certificate: --tls-dir DIR"),
])
def test_autograde_refuses_a_scheduler_it_cannot_reach_safely(address, expected, tmp_path, capsys):
    assert course(["autograde", A, "--course", str(tmp_path), "--scheduler", address]) == 2
    out = capsys.readouterr().out
    assert out.startswith("REFUSED") and expected in out
    assert "--insecure" in out or address.startswith("tls://")


def test_insecure_is_loud_and_tls_dir_must_be_whole(scheduler, certs, tmp_path, capsys):
    notebook = tmp_path / "n.ipynb"
    notebook.write_text("{}")
    # --insecure: a warning, then the TLS scheduler itself refuses plain TCP.
    _, address = scheduler
    plain = address.replace("tls://", "tcp://")
    assert course(["grade", A, str(notebook), "--scheduler", plain, "--insecure"]) == 2
    out = capsys.readouterr().out
    assert "WARNING: --insecure" in out and "run any code" in out
    assert "REFUSED: cannot use the Dask scheduler" in out
    # A client key others can read, or a folder without the client's files, is refused.
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "ca.pem").write_bytes((certs / "ca.pem").read_bytes())
    with pytest.raises(InsecureScheduler, match="has no client.pem, client-key.pem"):
        scheduler_security(address, partial, False)
    loose = make_certs(tmp_path / "loose")
    os.chmod(loose / "client-key.pem", 0o644)
    with pytest.raises(InsecureScheduler, match="can be read by other users"):
        scheduler_security(address, loose, False)
    with pytest.raises(InsecureScheduler, match="local:N makes its own"):
        scheduler_security("local:2", certs, False)
