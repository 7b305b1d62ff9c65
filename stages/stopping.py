"""SIGTERM and SIGINT during training (what `kill`, systemd, Kubernetes and Ctrl-C send): the first one is noted and
acted on at the end of the current step, when every rank saves a checkpoint and the run stops with one line saying
where `--resume` continues; a second one acts at once, as it would have without this."""

from __future__ import annotations

import signal
import sys
import threading

import torch

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequests:
    def __init__(self, announce: bool = True):
        self.signum = 0
        self.announce = announce
        self._previous: dict[int, object] = {}

    def install(self) -> "StopRequests":
        if threading.current_thread() is threading.main_thread():  # (signal handlers live on the main thread only)
            for s in SIGNALS:
                self._previous[s] = signal.signal(s, self._note)
        return self

    def restore(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()

    def _note(self, signum: int, frame) -> None:
        if self.signum:  # the second one: what it would have done without us
            self.restore()
            signal.raise_signal(signum)
            return
        self.signum = signum
        if self.announce:
            print(f"\nnsp train: {signal.Signals(signum).name} received: saving a checkpoint at the end of this step, "
                  "then stopping (send it again to stop at once)", file=sys.stderr, flush=True)

    def agreed(self, world: int, device: torch.device) -> int:
        """The signal every rank stops for (0: none): a rank that got none stops with the others, so that all save
        the same step."""
        if world == 1:
            return self.signum
        flag = torch.tensor([self.signum], device=device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        return int(flag.item())
