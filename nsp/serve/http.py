"""uvicorn, as `nsp serve` runs it: clients that send their request too slowly are cut off, and a stop signal
(SIGTERM, SIGINT) first answers every request in flight (`Server.close`) before uvicorn's graceful shutdown."""

from __future__ import annotations

import signal

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol


class TimedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a limit on how long a client may take to send a request, headers and body:
    without it a connection that trickles its bytes holds a socket (and a thread, while its upload is written) for
    ever. The clock starts when the connection opens and again after each response (keep-alive)."""

    read_timeout = 30.0

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._read_deadline = self.loop.call_later(self.read_timeout, self._too_slow)

    def _disarm(self) -> None:
        if getattr(self, "_read_deadline", None) is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _too_slow(self) -> None:
        self._read_deadline = None
        # IDLE: the request line and headers have not all come; SEND_BODY: the body has not. A request that has
        # arrived whole (DONE) is being answered and is the job's timeout's business.
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self.transport.close()


def timed_protocol(read_timeout: float) -> type[TimedH11Protocol]:
    return type("TimedH11Protocol", (TimedH11Protocol,), {"read_timeout": read_timeout})


class ClosingServer(uvicorn.Server):
    """A uvicorn server that calls `on_stop(reason)` at the first stop signal, before shutting down."""

    def __init__(self, config: uvicorn.Config, on_stop):
        super().__init__(config)
        self.on_stop, self.stopped_by = on_stop, None

    def handle_exit(self, sig: int, frame) -> None:
        if self.stopped_by is None:
            self.stopped_by = signal.Signals(sig).name
            self.on_stop(f"the server is stopping ({self.stopped_by}); try again later")
        super().handle_exit(sig, frame)
