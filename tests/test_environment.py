"""Process-wide set-up: what a run does before DeepSpeed starts."""

import os
import time

from nsp.environment import STALE_BUILD_LOCK_S, clear_stale_build_lock


def test_a_build_lock_left_by_a_killed_run_is_removed_and_a_fresh_one_kept(tmp_path, monkeypatch, capsys):
    """A run killed while it held DeepSpeed's JIT build lock leaves the file; torch would wait on it forever."""
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    lock = tmp_path / "deepspeed_shm_comm" / "lock"
    assert clear_stale_build_lock() is None  # none there
    lock.parent.mkdir(exist_ok=True)
    lock.touch()
    assert clear_stale_build_lock() is None and lock.is_file()  # another process may be building right now
    old = time.time() - STALE_BUILD_LOCK_S - 60
    os.utime(lock, (old, old))
    assert clear_stale_build_lock() == lock and not lock.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"removed {lock}, a build lock left 11 minutes ago" in err
