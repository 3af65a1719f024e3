"""A chain node that hangs: it accepts connections and never answers (not one that refuses them).

Shared by the tests that check a hanging node ends in `ChainUnavailableError` (503 through the
API) within the RPC timeout, instead of holding a request forever.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

# A liveness bound, far above the 1 s RPC timeout the tests set: without a timeout a call never ends.
BOUND_SECONDS = 60.0


@contextmanager
def silent_node() -> Iterator[str]:
    """The JSON-RPC URL of a socket on 127.0.0.1 that accepts connections and never answers."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshakes; nobody ever reads or writes
    try:
        yield f"http://127.0.0.1:{silent.getsockname()[1]}"
    finally:
        silent.close()


def outcome_within(call: Callable[[], T], seconds: float = BOUND_SECONDS) -> T | BaseException:
    """What `call` returned or raised, run in a thread; fails the test if it is still waiting after `seconds`."""
    outcome: list[T | BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"still waiting on a silent node after {seconds} s"
    return outcome[0]
