"""Who may talk to the grading cluster: TLS with certificates of the instructor's own CA.

Dask workers run whatever function they are sent, and ours run it as root
(a uid per sandbox, the cgroup): whoever can reach the scheduler or a worker
without credentials has a root shell on every worker. So:

- ``local:N`` clusters use ``Security.temporary()``: a key and certificate
  made for this run, held in memory (Dask writes them for a moment into a
  fresh 0700 temporary folder while loading them), every peer required to
  present it; nothing listens beyond 127.0.0.1 and there is no dashboard.
- a remote scheduler must be ``tls://`` with the client certificate from
  ``course cluster-certs DIR`` (``--tls-dir DIR``); any other address is
  refused unless the instructor passes ``--insecure``.

``write_certificates`` is ``course cluster-certs``: a CA, and a certificate
and key for the scheduler, the workers and the client (the parent). Dask
accepts any peer whose certificate the CA signed (it checks no host names),
so the CA's own key is thrown away once they are signed: no one, the
instructor included, can sign another. Run the command again for a new set.
"""
from __future__ import annotations

import datetime
import os
import stat
from pathlib import Path

ROLES = ("scheduler", "worker", "client")
CA_FILE = "ca.pem"


class InsecureScheduler(ValueError):
    """A scheduler address or TLS folder the grader will not use (the message says why)."""


def cert_files(role: str) -> tuple[str, str]:
    """The certificate and key file names of ``role``."""
    return f"{role}.pem", f"{role}-key.pem"


def write_certificates(folder: Path, days: int = 365) -> list[Path]:
    """The CA certificate and each role's certificate and key, written into
    ``folder`` (created 0700); keys 0600. Refuses to replace any file."""
    from cryptography.hazmat.primitives import serialization

    names = [CA_FILE] + [name for role in ROLES for name in cert_files(role)]
    taken = [name for name in names if (folder / name).exists() or (folder / name).is_symlink()]
    if taken:
        raise FileExistsError(f"{folder} already holds {', '.join(taken)}: nothing was written "
                              "(choose an empty folder, or remove the old set first)")
    if days < 1:
        raise ValueError("--days must be at least 1")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_key = _new_key()
    ca_cert = _certificate("course grading CA", ca_key, ca_key, None, days)
    written = [_write(folder / CA_FILE, _pem(ca_cert), 0o644)]
    for role in ROLES:
        key = _new_key()
        cert = _certificate(f"dask-{role}", key, ca_key, ca_cert, days)
        cert_name, key_name = cert_files(role)
        written.append(_write(folder / cert_name, _pem(cert), 0o644))
        written.append(_write(folder / key_name, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()), 0o600))
    return written


def _new_key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _certificate(name: str, key, ca_key, ca_cert, days: int):
    """A certificate for ``key`` signed by ``ca_key``; self-signed CA when ``ca_cert`` is None."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    is_ca = ca_cert is None
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(subject if is_ca else ca_cert.subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))    # clocks a little apart
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None),
                              critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=not is_ca, key_cert_sign=is_ca, crl_sign=is_ca,
                   content_commitment=False, key_encipherment=False, data_encipherment=False,
                   key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    if not is_ca:       # every Dask peer both listens and connects
        builder = (builder
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                         ExtendedKeyUsageOID.CLIENT_AUTH]),
                                  critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       ca_key.public_key()), critical=False))
    return builder.sign(ca_key, hashes.SHA256())


def _pem(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes, mode: int) -> Path:
    """``data`` into a new file of ``mode`` (never an existing file or a link)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)          # whatever the umask took away or added
    return path


def client_security(folder: Path):
    """The parent's ``Security`` from a ``course cluster-certs`` folder."""
    from distributed.security import Security

    cert, key = (folder / name for name in cert_files("client"))
    missing = [p.name for p in (folder / CA_FILE, cert, key) if not p.is_file()]
    if missing:
        raise InsecureScheduler(f"{folder} has no {', '.join(missing)} (make the set with "
                                f"`course cluster-certs {folder}`)")
    if stat.S_IMODE(key.stat().st_mode) & 0o077:
        raise InsecureScheduler(f"{key} can be read by other users (mode "
                                f"{stat.S_IMODE(key.stat().st_mode):o}): chmod 600 {key}")
    return Security(require_encryption=True, tls_ca_file=str(folder / CA_FILE),
                    tls_client_cert=str(cert), tls_client_key=str(key))


def scheduler_security(address: str, tls_dir: Path | None, insecure: bool = False):
    """The ``Security`` to reach ``address`` with, and a warning to print (or "").

    ``tls://`` needs ``tls_dir`` (or Dask's own ``distributed.comm.tls``
    config with a client certificate); an unencrypted address is refused
    unless ``insecure``: anyone who reaches it runs code as root on the workers."""
    from distributed.security import Security

    if address.startswith("local:"):       # makes its own (executors.local_cluster)
        if tls_dir is not None:
            raise InsecureScheduler("--tls-dir is for a tls:// scheduler; local:N makes its own "
                                    "certificate for each run")
        return None, ""
    if address.startswith("tls://"):
        if tls_dir is not None:
            return client_security(tls_dir), ""
        configured = Security()
        if configured.tls_ca_file and configured.tls_client_cert:
            return configured, ""
        raise InsecureScheduler(f"{address} needs the client certificate: --tls-dir DIR (the folder "
                                "of `course cluster-certs DIR`), or Dask's distributed.comm.tls "
                                "config with ca-file and client.cert/client.key")
    if not insecure:
        raise InsecureScheduler(
            f"{address} is not encrypted: whoever can reach it runs code as root on every worker. "
            "Start the cluster with TLS (`course cluster-certs DIR`, then tls:// with --tls-dir DIR; "
            "docs/grading.md) or pass --insecure if the network is yours alone")
    if tls_dir is not None:
        raise InsecureScheduler("--tls-dir needs a tls:// address")
    return None, (f"WARNING: --insecure: {address} is an unencrypted Dask scheduler. Anyone who can "
                  "connect to it or to its workers can run any code on them, as root where they "
                  "run as root. Use tls:// (docs/grading.md) unless this network is yours alone.")
