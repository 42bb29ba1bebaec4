"""Ports a server binds: free before it starts, and unchanged while it runs."""

from __future__ import annotations

import socket


def in_use(port: int) -> bool:
    """Whether something listens on the port, as our servers would bind it (127.0.0.1)."""
    with socket.socket() as sock:
        # Like the servers themselves: a closed connection lingering in TIME_WAIT does not block the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False
