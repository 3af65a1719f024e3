"""The JSON-RPC connection and the translation of its failures into Sijill exceptions."""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3Exception, Web3RPCError
from web3.providers.rpc.utils import ExceptionRetryConfiguration

from ledger.chain.errors import ErrorDecoder
from ledger.errors import (
    ChainUnavailableError,
    ConfigurationError,
    NodeAnswerError,
    SijillError,
    TransactionFailedError,
)

# web3 retries a read up to five times, timeouts included (about 5 × the timeout + 2 s): a node
# that hangs held a request for a minute at the default timeout. Here a read timeout is final, as
# in `JsonRpcClient`; a failed connection (a kept-alive one the node closed; to requests, a
# connect timeout too) is tried once more.
_RETRY = ExceptionRetryConfiguration(errors=(requests.exceptions.ConnectionError,), retries=2, backoff_factor=0)


def retry_configuration() -> ExceptionRetryConfiguration:
    """How web3 retries a request: a failed connection once more, a read timeout never."""
    return _RETRY


def connect(rpc_url: str, *, timeout: float = 10.0) -> Web3:
    """A lean `Web3` for `rpc_url` (HTTP JSON-RPC, keep-alive, no middleware; `timeout` per read, not retried)."""
    provider = Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, exception_retry_configuration=_RETRY)
    return Web3(provider, middleware=[])


@contextmanager
def translate_errors(rpc_url: str, decoder: ErrorDecoder | None = None) -> Iterator[None]:
    """Turn web3 and transport failures into Sijill exceptions (``raise ... from``)."""
    try:
        yield
    except SijillError:
        raise
    except ContractLogicError as error:
        data = revert_data(error)
        if decoder is not None and data is not None and (decoder.known(data) or isinstance(error, ContractCustomError)):
            raise decoder.decode(data) from error
        if isinstance(error, ContractCustomError):
            raise TransactionFailedError(f"the contract refused the call: {data}") from error
        raise TransactionFailedError(f"the contract refused the call: {error.message}") from error
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
        raise ChainUnavailableError(
            f"the chain at {rpc_url} cannot be reached; check that the node is running"
        ) from error
    except requests.exceptions.HTTPError as error:  # a node or a proxy in front of it answered 4xx/5xx
        status = error.response.status_code if error.response is not None else "an error"
        raise ChainUnavailableError(f"the chain at {rpc_url} answered HTTP {status}; try again shortly") from error
    except Web3RPCError as error:
        raise NodeAnswerError(f"the chain node refused the request: {error.message}") from error
    except Web3Exception as error:
        raise NodeAnswerError(f"the chain call failed: {error}") from error


_REVERT_DATA = re.compile(r"0x(?:[0-9a-fA-F]{2}){4,}")  # a selector and whole bytes after it


def revert_data(error: ContractLogicError) -> str | None:
    """The custom error's data (``0x`` + selector + arguments) a revert carried, or None.

    Anvil and Besu answer ``error.data`` as the hex string itself (web3 raises
    `ContractCustomError`); Hardhat's node wraps it, ``error.data = {message, data}``, and web3
    raises a plain `ContractLogicError` holding the object.
    """
    data = error.data
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and _REVERT_DATA.fullmatch(data):
        return data
    return None


MAX_ANSWER_BYTES = 64 * 1024 * 1024  # a node's answer larger than this is refused, not read into memory


class JsonRpcClient:
    """A lean JSON-RPC client for hot paths: one keep-alive connection per thread, plain JSON.

    web3's provider goes through `requests`, which looks for a netrc file and checks its CA
    bundle on every call; on verification's path that is most of the time a read takes.
    """

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"not an HTTP(S) JSON-RPC address: {url}")
        self._url = url
        self._host, self._port = parts.hostname, parts.port
        self._https = parts.scheme == "https"
        self._path = parts.path or "/"
        if parts.query:
            self._path += "?" + parts.query
        self._timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = kind(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
        return connection

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """Send `calls` as one batch request; the responses in the same order.

        Raises `ChainUnavailableError` when the node cannot be reached or answers nonsense.
        """
        body = json.dumps(
            [
                {"jsonrpc": "2.0", "id": index, "method": method, "params": params}
                for index, (method, params) in enumerate(calls)
            ]
        ).encode()
        for attempt in (1, 2):  # a kept-alive connection the node closed meanwhile is opened again, once
            connection = self._connection()
            try:
                connection.request("POST", self._path, body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = response.read(MAX_ANSWER_BYTES + 1)
                if len(payload) > MAX_ANSWER_BYTES:
                    raise ChainUnavailableError(
                        f"the chain at {self._url} answered more than {MAX_ANSWER_BYTES:,} bytes"
                    )
                break
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                self._local.connection = None
                if attempt == 2 or isinstance(error, TimeoutError | ConnectionRefusedError):
                    raise ChainUnavailableError(
                        f"the chain at {self._url} cannot be reached; check that the node is running"
                    ) from error
        try:
            answers = json.loads(payload)
            ordered = sorted(answers, key=lambda answer: answer["id"])
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:  # a node's nonsense
            raise ChainUnavailableError(
                f"the chain at {self._url} answered a batch request with {payload[:200]!r}"
            ) from error
        if not all(isinstance(answer, dict) for answer in ordered):
            raise ChainUnavailableError(f"the chain at {self._url} answered a batch request with {payload[:200]!r}")
        if len(ordered) != len(calls):
            raise ChainUnavailableError(f"the chain at {self._url} answered {len(ordered)} of {len(calls)} calls")
        return ordered
