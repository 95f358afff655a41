"""Graceful SIGTERM without dropping queued connections (Linux).

Gunicorn's master answers SIGTERM by closing its listening sockets and telling workers to finish their
current request. Connections the kernel has already accepted but no worker has picked up yet (the
accept queue) would be reset when the last copy of the socket closes. Before Gunicorn's own handler runs,
``install`` makes the master:

1. attach a drop-everything socket filter to each TCP listener, so the kernel completes no new
   handshakes (new clients see their connection refused, never a reset after sending a request);
2. wait, for a bounded time, until the workers have accepted everything already queued;

then it carries on with Gunicorn's graceful stop. Elsewhere (or if the kernel refuses) it is a no-op.
"""

from __future__ import annotations

import ctypes
import logging
import socket
import struct
import sys
import time
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("serving.shutdown")

SO_ATTACH_FILTER = 26
_DROP_ALL = struct.pack("HBBI", 0x06, 0, 0, 0)  # BPF_RET | BPF_K, return 0: deliver nothing
_TCPI_UNACKED = 24  # offset of tcpi_unacked (the accept queue length on a listener) in struct tcp_info


def _tcp_socket(listener: Any) -> socket.socket | None:
    sock = getattr(listener, "sock", listener)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        return sock
    return None


def stop_new_connections(sock: socket.socket) -> bool:
    """Make the kernel drop new connection attempts to ``sock``; True when it worked."""
    if not sys.platform.startswith("linux"):
        return False
    program = ctypes.create_string_buffer(_DROP_ALL)
    fprog = struct.pack("@HP", 1, ctypes.addressof(program))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        return True
    except OSError as exc:
        log.warning("could not stop new connections", extra={"error": str(exc)})
        return False


def queued_connections(sock: socket.socket) -> int:
    """Connections waiting in ``sock``'s accept queue (0 when it cannot be told)."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        return int(struct.unpack_from("I", info, _TCPI_UNACKED)[0])
    except (OSError, AttributeError, struct.error):
        return 0


def drain(listeners: Iterable[Any], timeout: float, poll: float = 0.01) -> int:
    """Stop new connections on every TCP listener, then wait up to ``timeout`` seconds for the accept
    queues to empty. Returns the connections still queued at the end (0 on success)."""
    socks = [s for s in map(_tcp_socket, listeners) if s is not None]
    socks = [s for s in socks if stop_new_connections(s)]
    deadline = time.monotonic() + timeout
    left = sum(queued_connections(s) for s in socks)
    while left and time.monotonic() < deadline:
        time.sleep(poll)
        left = sum(queued_connections(s) for s in socks)
    return left


def install(arbiter: Any, timeout: float) -> None:
    """Wrap the Gunicorn arbiter's SIGTERM handler so queued connections are served before it stops."""
    original = arbiter.handle_term

    def handle_term() -> None:
        started = time.monotonic()
        left = drain(arbiter.LISTENERS, timeout)
        arbiter.log.info(
            "SIGTERM: stopped accepting; drained the accept queue in %.3fs (%d left); stopping workers",
            time.monotonic() - started,
            left,
        )
        original()

    arbiter.handle_term = handle_term
