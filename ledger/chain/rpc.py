"""The JSON-RPC connection and the translation of its failures into Sijill exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3Exception, Web3RPCError

from ledger.chain.errors import ErrorDecoder
from ledger.errors import ChainUnavailableError, SijillError, TransactionFailedError


def connect(rpc_url: str, *, timeout: float = 10.0) -> Web3:
    """A lean `Web3` for `rpc_url` (HTTP JSON-RPC, keep-alive, no middleware)."""
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}), middleware=[])


@contextmanager
def translate_errors(rpc_url: str, decoder: ErrorDecoder | None = None) -> Iterator[None]:
    """Turn web3 and transport failures into Sijill exceptions (``raise ... from``)."""
    try:
        yield
    except SijillError:
        raise
    except ContractCustomError as error:
        if decoder is None:
            raise TransactionFailedError(f"the contract refused the call: {error.data}") from error
        raise decoder.decode(str(error.data)) from error
    except ContractLogicError as error:
        raise TransactionFailedError(f"the contract refused the call: {error.message}") from error
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
        raise ChainUnavailableError(
            f"the chain at {rpc_url} cannot be reached; check that the node is running"
        ) from error
    except Web3RPCError as error:
        raise TransactionFailedError(f"the chain node refused the request: {error.message}") from error
    except Web3Exception as error:
        raise TransactionFailedError(f"the chain call failed: {error}") from error
