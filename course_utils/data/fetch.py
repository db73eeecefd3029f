"""Where data lives on disk, and how it gets there intact.

Every file the course reads is checked against a published checksum, and a
download only ever appears at its final path once it is complete and verified,
so an interrupted or tampered transfer can never be mistaken for good data.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Optional

CHUNK_SIZE = 1 << 20  # 1 MiB: large enough to be fast, small enough to stream


class DataNotFoundError(FileNotFoundError):
    """A data file is not on disk and could not be downloaded."""


class CorruptDataError(ValueError):
    """A data file exists but its contents are not what was expected."""


def cache_dir() -> Path:
    """Directory where downloaded data is kept.

    ``$COURSE_DATA_DIR`` if set, else ``$XDG_CACHE_HOME/dl-course``, else
    ``~/.cache/dl-course``. It is not created here; writers create it.

    Returns:
    - path: pathlib.Path (absolute unless the variable holds a relative path).
    """
    override = os.environ.get("COURSE_DATA_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "dl-course"
    return Path.home() / ".cache" / "dl-course"


def _digest(path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        # Streamed so a multi-hundred-MB archive never sits in memory twice.
        for chunk in iter(lambda: f.read(CHUNK_SIZE), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_of(path) -> str:
    """Hex sha256 of the file at ``path`` (str or Path), read in chunks."""
    return _digest(path, "sha256")


def md5_of(path) -> str:
    """Hex md5 of the file at ``path`` (str or Path), read in chunks."""
    return _digest(path, "md5")


def _mismatches(path, sha256, md5):
    """List of (algorithm, expected, found) for every digest that differs."""
    bad = []
    for name, expected, fn in (("sha256", sha256, sha256_of), ("md5", md5, md5_of)):
        if expected is not None:
            found = fn(path)
            if found != expected.lower():
                bad.append((name, expected.lower(), found))
    return bad


def _describe(bad) -> str:
    return "; ".join(f"expected {a} {e}, found {f}" for a, e, f in bad)


def verify_file(path, *, sha256: Optional[str] = None, md5: Optional[str] = None) -> None:
    """Raise CorruptDataError unless the file matches every digest given.

    Inputs:
    - path: str or Path of an existing file.
    - sha256, md5: expected hex digests (str) or None to skip that check.
    """
    bad = _mismatches(path, sha256, md5)
    if bad:
        raise CorruptDataError(
            f"{path} is corrupt or not the expected file ({_describe(bad)}). "
            f"Delete it and download it again."
        )


def download(
    url: str,
    dest,
    *,
    sha256: Optional[str] = None,
    md5: Optional[str] = None,
    timeout: float = 30,
    validate: Optional[Callable[[Path], None]] = None,
) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying it first.

    The bytes go to a temporary file in dest's directory (so the final
    ``os.replace`` is an atomic rename on one filesystem); dest appears only
    once the transfer is complete and every check passed, and the temporary
    file is removed on any failure.

    Inputs:
    - url: str, any scheme urllib handles (http, https, file).
    - dest: str or Path of the final file; parent directories are created.
    - sha256, md5: expected hex digests of the downloaded bytes, or None.
    - timeout: float, seconds for the connection and each read.
    - validate: optional callable(Path) run on the temporary file after the
      digests; it raises CorruptDataError to reject the file (used when the
      checksum is of decompressed contents rather than of the raw bytes).

    Returns:
    - dest as a Path.

    Raises DataNotFoundError if the URL cannot be fetched, CorruptDataError if
    the downloaded bytes fail a check.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                resp = urllib.request.urlopen(url, timeout=timeout)
            except (urllib.error.URLError, OSError, ValueError) as e:
                raise DataNotFoundError(f"Could not download {url}: {e}") from e
            with resp:
                while True:
                    # Only network reads are wrapped: a local write error
                    # (e.g. disk full) should surface as what it is.
                    try:
                        chunk = resp.read(CHUNK_SIZE)
                    except (urllib.error.URLError, OSError) as e:
                        raise DataNotFoundError(f"Download of {url} failed midway: {e}") from e
                    if not chunk:
                        break
                    out.write(chunk)
        bad = _mismatches(tmp, sha256, md5)
        if bad:
            raise CorruptDataError(
                f"Downloaded {url} but it is not the expected file ({_describe(bad)}); "
                f"nothing was written to {dest}. Try again, or fetch it by hand and "
                f"check the digest."
            )
        if validate is not None:
            validate(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; cached data is not secret
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest
