"""keccak256, from the fastest implementation installed.

`safe-pysha3` (a C extension, a dependency of Sijill) hashes a field in under a microsecond;
`eth-hash` over pycryptodome, which web3 brings, takes about five. Both give the same digest.
"""

from __future__ import annotations

from collections.abc import Callable

try:
    from sha3 import keccak_256 as _pysha3_keccak

    def _pysha3(data: bytes) -> bytes:
        digest: bytes = _pysha3_keccak(data).digest()
        return digest

    keccak256: Callable[[bytes], bytes] = _pysha3
except ImportError:  # a platform without a wheel or a compiler: the slower, always-present one
    from eth_hash.auto import keccak as _eth_hash_keccak

    keccak256 = _eth_hash_keccak
