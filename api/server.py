"""How the service is served: uvicorn's HTTP/1.1 protocol with Nagle's algorithm off on every connection.

asyncio turns Nagle off by itself only on sockets it recognises as TCP; the listening socket
uvicorn hands to its worker processes (`SIJILL_API_WORKERS` > 1) is rebuilt with `socket.fromfd`,
which does not say so, and a response written in two parts then waits for the client's
delayed acknowledgement (40 ms a request). Setting the option on each connection avoids it.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with TCP_NODELAY set on each new connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        connection = transport.get_extra_info("socket")
        if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
