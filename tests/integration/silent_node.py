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


class SilentNode:
    """A socket on 127.0.0.1 that accepts connections and never answers.

    Closing it resets the connections waiting on it, so a call still waiting ends at once.
    """

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)  # the kernel completes the handshakes; nobody ever reads or writes
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def close(self) -> None:
        """Stop listening (again: a no-op)."""
        self._socket.close()


@contextmanager
def silent_node() -> Iterator[str]:
    """The JSON-RPC URL of a `SilentNode`, closed on leaving."""
    node = SilentNode()
    try:
        yield node.url
    finally:
        node.close()


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
