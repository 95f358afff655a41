"""Graceful SIGTERM support: new connections stop, queued ones are still served (Linux socket filter)."""

from __future__ import annotations

import socket
import sys
import threading

import pytest

from serving.shutdown import drain, queued_connections, stop_new_connections

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses Linux socket filters and TCP_INFO"
)


def test_queue_is_drained_and_new_connections_are_not_accepted() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        address = listener.getsockname()
        queued = socket.create_connection(address, timeout=2)
        assert queued_connections(listener) == 1

        assert stop_new_connections(listener)
        late = socket.socket()
        late.settimeout(0.3)
        with pytest.raises(OSError):  # the SYN is dropped: no handshake completes
            late.connect(address)
        late.close()
        assert queued_connections(listener) == 1

        accepted: list[socket.socket] = []
        worker = threading.Timer(0.1, lambda: accepted.append(listener.accept()[0]))
        worker.start()
        assert drain([listener], timeout=5) == 0  # returns once the "worker" took the queued connection
        worker.join()
        accepted[0].sendall(b"served")
        assert queued.recv(6) == b"served"
        for s in (*accepted, queued):
            s.close()


def test_drain_gives_up_after_its_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        with socket.create_connection(listener.getsockname(), timeout=2):
            assert drain([listener], timeout=0.2) == 1
