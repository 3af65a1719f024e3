"""Several JSON-RPC endpoints of one chain: reads fail over, and every node's health is known.

The agencies' permissioned network has many nodes; a verifier should not stop when one is down,
nor believe one alone (`ledger.chain.quorum`). `NodePool` keeps each endpoint's lean client
(`JsonRpcClient`), the last height it reported, how long it took and the last error it gave.
`call` asks the preferred endpoint and fails over to the next that answers; the chain is down
only when none does. `ask_each` asks several at once, for a quorum. `FailoverProvider` gives
web3 the same failover, so every read through web3 has it too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import requests
from web3 import Web3
from web3.providers.rpc import HTTPProvider
from web3.types import RPCEndpoint, RPCResponse

from ledger.chain.rpc import JsonRpcClient, retry_configuration
from ledger.errors import ChainUnavailableError, ConfigurationError

T = TypeVar("T")
_TRANSPORT = (ChainUnavailableError, requests.exceptions.ConnectionError, requests.exceptions.Timeout,
              requests.exceptions.HTTPError)  # fmt: skip
RETRY_AFTER_SECONDS = 5.0  # a failed endpoint is tried first again after this long, doubled per failure in a row
RETRY_AFTER_MAX_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class NodeHealth:
    """One endpoint as last seen: its height, how far it lags the highest, its last error."""

    url: str
    height: int | None
    lag: int | None
    latency_ms: float | None
    last_error: str | None
    failed_at: float | None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for `/health` and `sijill status`."""
        return {
            "url": self.url,
            "height": self.height,
            "lag": self.lag,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "last_error": self.last_error,
        }


class NodeObserver(Protocol):
    """Told of every endpoint's answers (the service's metrics)."""

    def node_answered(self, endpoint: str, seconds: float, error: BaseException | None) -> None:
        """A request to `endpoint` ended after `seconds`, answered or failing with `error`."""

    def node_wrong(self, endpoint: str) -> None:
        """`endpoint` answered, and its answer was set aside (a disagreement, a failed proof)."""


class _Node:
    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.client = JsonRpcClient(url, timeout=timeout)
        self.height: int | None = None
        self.latency_ms: float | None = None
        self.last_error: str | None = None
        self.failed_at: float | None = None
        self.failures = 0  # in a row

    def resting(self, now: float) -> bool:
        """Whether it failed lately: tried only after the others, until its rest is over."""
        if self.failed_at is None:
            return False
        rest: float = min(RETRY_AFTER_MAX_SECONDS, RETRY_AFTER_SECONDS * 2.0 ** (self.failures - 1))
        return now - self.failed_at < rest


def _failure(error: BaseException) -> str:
    """How an endpoint failed, in words that follow its address."""
    if isinstance(error, requests.exceptions.HTTPError):
        status = error.response.status_code if error.response is not None else "an error"
        return f"answered HTTP {status}; try again shortly"
    return "cannot be reached; check that the node is running"


class NodePool:
    """The chain's endpoints, in the order the settings give them."""

    def __init__(self, urls: Sequence[str], *, timeout: float = 10.0, observer: NodeObserver | None = None) -> None:
        """`observer`, when given, is told of every request's time and outcome and of every wrong answer."""
        if not urls:
            raise ConfigurationError("no JSON-RPC endpoint is configured (SIJILL_RPC_URLS)")
        if len(set(urls)) != len(urls):
            raise ConfigurationError(f"an endpoint is listed twice in {', '.join(urls)}")
        self._nodes = [_Node(url, timeout) for url in urls]
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._observer = observer
        self.timeout = timeout

    @property
    def urls(self) -> list[str]:
        """Every endpoint, in the settings' order."""
        return [node.url for node in self._nodes]

    def describe(self) -> str:
        """The chain's endpoints in a few words, for messages."""
        if len(self._nodes) == 1:
            return f"the chain at {self._nodes[0].url}"
        return f"the chain's {len(self._nodes)} endpoints ({', '.join(self.urls)})"

    def _order(self) -> list[int]:
        """Endpoint indexes to try: the settings' order, those that failed lately last."""
        now = time.monotonic()
        with self._lock:
            recent = [node.resting(now) for node in self._nodes]
        return [index for index in range(len(self._nodes)) if not recent[index]] + [
            index for index in range(len(self._nodes)) if recent[index]
        ]

    def _record(self, index: int, started: float, error: BaseException | None, height: int | None = None) -> None:
        node, seconds = self._nodes[index], time.perf_counter() - started
        if self._observer is not None:
            self._observer.node_answered(node.url, seconds, error)
        with self._lock:
            node.latency_ms = seconds * 1000
            if error is None:
                node.failed_at, node.failures = None, 0
                if height is not None:
                    node.height = height
            else:
                node.failed_at, node.last_error = time.monotonic(), str(error) or type(error).__name__
                node.failures += 1

    def run(self, attempt: Callable[[int], T]) -> T:
        """`attempt(index)` on the first endpoint that answers (its transport failing moves to the next).

        Raises `ChainUnavailableError` naming every endpoint's failure when none answers.
        """
        failures: list[str] = []
        last: BaseException | None = None
        for index in self._order():
            started = time.perf_counter()
            try:
                result = attempt(index)
            except _TRANSPORT as error:
                self._record(index, started, error)
                failures.append(f"{self._nodes[index].url} {_failure(error)}")
                if not isinstance(last, requests.exceptions.ReadTimeout):
                    last = error  # a request that timed out may have arrived: that is what the cause says
                continue
            self._record(index, started, None)
            return result
        if len(self._nodes) == 1:
            if isinstance(last, ChainUnavailableError):
                raise last  # the lean client's own words
            raise ChainUnavailableError(f"the chain at {failures[0]}") from last
        raise ChainUnavailableError(
            f"none of the chain's {len(self._nodes)} endpoints answers: {'; '.join(failures)}"
        ) from last

    def call(self, calls: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """`calls` as one batch, to the first endpoint that answers."""
        return self.run(lambda index: self._nodes[index].client.batch(calls))

    def ask_each(
        self, calls: Callable[[str], Sequence[tuple[str, list[Any]]]], urls: Sequence[str] | None = None
    ) -> dict[str, list[dict[str, Any]] | ChainUnavailableError]:
        """Each endpoint of `urls` (every one when None) asked its own batch `calls(url)`, all at once:
        each endpoint's answers, or the error that kept it from answering."""
        chosen = [index for index, node in enumerate(self._nodes) if urls is None or node.url in urls]

        def ask(index: int) -> list[dict[str, Any]] | ChainUnavailableError:
            node, started = self._nodes[index], time.perf_counter()
            try:
                answers = node.client.batch(calls(node.url))
            except ChainUnavailableError as error:
                self._record(index, started, error)
                return error
            self._record(index, started, None)
            return answers

        if len(chosen) == 1:
            return {self._nodes[chosen[0]].url: ask(chosen[0])}
        with self._lock:
            if self._executor is None:
                workers = max(2, len(self._nodes))
                self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sijill-rpc")
            executor = self._executor
        results = list(executor.map(ask, chosen))
        return {self._nodes[index].url: result for index, result in zip(chosen, results, strict=True)}

    def ask(self, url: str, calls: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """`calls` as one batch to endpoint `url` alone. Raises `ChainUnavailableError` when it does not answer."""
        index = self.urls.index(url)
        started = time.perf_counter()
        try:
            answers = self._nodes[index].client.batch(calls)
        except ChainUnavailableError as error:
            self._record(index, started, error)
            raise
        self._record(index, started, None)
        return answers

    def heights(self, urls: Sequence[str] | None = None) -> dict[str, int | ChainUnavailableError]:
        """Each endpoint's latest block number (recorded for `health`), or why it did not answer."""
        found: dict[str, int | ChainUnavailableError] = {}
        for url, answer in self.ask_each(lambda _url: [("eth_blockNumber", [])], urls).items():
            if isinstance(answer, ChainUnavailableError):
                found[url] = answer
                continue
            result = answer[0].get("result")
            try:
                height = int(result, 16) if isinstance(result, str) else -1
            except ValueError:
                height = -1
            if height < 0:
                refused = ChainUnavailableError(
                    f"{url} did not give its block number: {answer[0].get('error', result)}"
                )
                self.note_error(url, refused)
                found[url] = refused
                continue
            found[url] = height
            with self._lock:
                self._nodes[self.urls.index(url)].height = height
        return found

    def note_error(self, url: str, error: BaseException) -> None:
        """Record that `url` answered wrongly (disagreed, or failed a proof): shown by `health`."""
        if self._observer is not None:
            self._observer.node_wrong(url)
        with self._lock:
            node = self._nodes[self.urls.index(url)]
            node.last_error = str(error)

    def health(self) -> list[NodeHealth]:
        """Every endpoint asked for its height now, with its lag behind the highest and its last error."""
        heights = self.heights()
        best = max((height for height in heights.values() if isinstance(height, int)), default=None)
        with self._lock:
            return [
                NodeHealth(
                    url=node.url,
                    height=height if isinstance(height := heights[node.url], int) else None,
                    lag=best - height if isinstance(height, int) and best is not None else None,
                    latency_ms=node.latency_ms,
                    last_error=node.last_error,
                    failed_at=node.failed_at,
                )
                for node in self._nodes
            ]

    def close(self) -> None:
        """Stop the threads that ask endpoints at once (a later call starts them again)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)


class FailoverProvider(HTTPProvider):
    """web3's HTTP provider over every endpoint of a pool: a request the preferred endpoint cannot
    take goes to the next (a transport failure only: a node's refusal is an answer)."""

    def __init__(self, pool: NodePool) -> None:
        super().__init__(pool.urls[0], request_kwargs={"timeout": pool.timeout})
        self._pool = pool
        retry, timeout = retry_configuration(), {"timeout": pool.timeout}
        self._providers = [
            HTTPProvider(url, request_kwargs=timeout, exception_retry_configuration=retry) for url in pool.urls
        ]

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        return self._pool.run(lambda index: self._providers[index].make_request(method, params))

    def make_batch_request(self, requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        return self._pool.run(lambda index: self._providers[index].make_batch_request(requests))


def connect_pool(pool: NodePool) -> Web3:
    """A lean `Web3` (no middleware) over every endpoint of `pool`, failing over between them."""
    return Web3(FailoverProvider(pool), middleware=[])
