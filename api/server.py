"""How the service is served: one process, or several, each with a listening socket of its own.

Several processes (`SIJILL_API_WORKERS` > 1) each bind the port with SO_REUSEPORT, and the
kernel spreads new connections across them. (With one socket shared by all, as uvicorn's own
workers have it, whichever process is quickest to accept may take every connection: a load
of 16 kept-alive connections then ran on one process in half of the runs measured.)

They share their request-rate buckets (a file in shared memory, `api.rate_limits`) and add
their metrics up (prometheus-client's multiprocess mode, `ledger.metrics`).

Every connection has Nagle's algorithm off: asyncio sets TCP_NODELAY only on sockets it
recognises as TCP, and a response written in two parts otherwise waits for the client's
delayed acknowledgement (40 ms a request).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ledger.metrics import prepare_multiprocess_dir


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with TCP_NODELAY set on each new connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        connection = transport.get_extra_info("socket")
        if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def uvicorn_options(forwarded_allow_ips: str) -> dict[str, Any]:
    """What every service process runs with: no access log of uvicorn's (it names client
    addresses; the service keeps its own, without them), no server banner, and
    X-Forwarded-For believed only from the configured proxies."""
    return {
        "http": NoDelayH11Protocol,
        "access_log": False,
        "server_header": False,
        "proxy_headers": bool(forwarded_allow_ips),
        "forwarded_allow_ips": forwarded_allow_ips or None,
    }


def serve(
    *, host: str, port: int, workers: int, forwarded_allow_ips: str, run_dir: Path, log_level: str = "info"
) -> None:
    """Serve ``api.main:service`` (built from ``SIJILL_*``) in `workers` processes on one port.

    The processes add their metrics up through files in `run_dir`/metrics, emptied first (their
    rate limits are shared through `run_dir` too: `api.rate_limits`). Returns when they have
    all stopped; SIGTERM or Ctrl-C stops them all.
    """
    prepare_multiprocess_dir(run_dir / "metrics")
    context = multiprocessing.get_context("spawn")  # a fresh interpreter each: no threads forked
    processes = [
        context.Process(
            target=_serve_one, args=(host, port, forwarded_allow_ips, log_level, os.getpid()), name=f"sijill-api-{n}"
        )
        for n in range(workers)
    ]
    for process in processes:
        process.start()

    def stop(_signal: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(30)


def _serve_one(host: str, port: int, forwarded_allow_ips: str, log_level: str, parent: int) -> None:
    """One service process: its own socket on the shared port; it ends when its parent is gone."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    listener.listen(2048)

    def watch_parent() -> None:  # a parent killed outright (SIGKILL) must not leave its workers serving
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch_parent, name="sijill-parent-watch", daemon=True).start()
    config = uvicorn.Config(
        "api.main:service", factory=True, log_level=log_level, **uvicorn_options(forwarded_allow_ips)
    )
    uvicorn.Server(config).run(sockets=[listener])
