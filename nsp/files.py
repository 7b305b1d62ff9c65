"""Atomic writes: outputs appear whole or not at all (a crash or bad input never leaves a half-written file)."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path

from nsp.errors import NSPError


@contextlib.contextmanager
def atomic_path(path: str | Path, is_dir: bool = False):
    """Yield a temporary sibling of `path`; on success rename it onto `path`, on error remove it.

    The temporary name keeps the suffix so that writers that infer a format from it (PyAV, PIL) still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_dir:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        tmp = Path(name)
    # mkstemp/mkdtemp create owner-only entries; give the result the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, (0o777 if is_dir else 0o666) & ~umask)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True) if is_dir else tmp.unlink(missing_ok=True)
        raise
    if is_dir and path.exists():
        # Directories cannot be replaced in one rename: move the old one aside first, then drop it.
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
        os.replace(path, old / "old")
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)


def not_found(path: Path) -> NSPError:
    """The one-line error for a path that cannot be opened: a symlink loop or a dangling symlink named as such."""
    path = Path(path)
    if path.is_symlink():
        try:
            os.stat(path)
        except OSError as err:
            if err.errno == errno.ELOOP:
                return NSPError(f"{path}: symlink loop")
            return NSPError(f"{path}: broken symlink (to {os.readlink(path)})")
    return NSPError(f"{path}: file not found")


def load_safetensors(path: str | Path) -> dict:
    """The tensors of a safetensors file; anything else (a pickle, a truncated file) is a one-line error: weights are
    never unpickled."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise NSPError(f"{path}: not a readable safetensors file ({str(err).splitlines()[0][:120]})") from None
