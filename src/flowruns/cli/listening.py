"""Whether ``serve`` can listen where it is asked to, found out before it says it serves there:
a start on a taken port must not print a banner, a token and a link that lead nowhere."""

from __future__ import annotations

import socket

# The exit status uvicorn gives a server that could not start.
STARTUP_FAILURE = 3


def refusal(host: str, port: int) -> str | None:
    """Why the server cannot listen on ``host:port`` (the port taken, the address not this
    machine's), or None. The address is bound as the server binds it, then let go."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            return (
                f"cannot listen on {shown}: {error.strerror or error}; choose another port with "
                "--port or FLOWRUNS_PORT (make serve PORT=…)"
            )
    return None
