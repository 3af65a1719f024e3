"""API tokens (format, Argon2id storage), the key vault, and the rate limiter: pure logic."""

from __future__ import annotations

import base64
import hashlib
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from api.rate_limits import PROBES, SLOT, SLOTS, BucketTable, RateLimiter
from ledger.api_keys import KEY_ID_HEX, TokenHasher, key_id_of, new_token
from ledger.errors import ConfigurationError, RateLimitedError
from ledger.keys import SEALED_PREFIX, KeyVault, read_key_file

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # same algorithm, test-sized cost


def test_a_new_token_names_its_key_and_is_stored_only_as_argon2id() -> None:
    key_id, token = new_token()
    assert key_id_of(token) == key_id
    assert len(key_id) == KEY_ID_HEX
    stored = TokenHasher(FAST).hash(token)
    assert stored.startswith("$argon2id$")
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() not in stored


def test_only_the_exact_token_matches() -> None:
    hasher = TokenHasher(FAST)
    _key_id, token = new_token()
    stored = hasher.hash(token)
    assert hasher.matches(stored, token)
    assert hasher.matches(stored, token)  # remembered
    assert not hasher.matches(stored, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not hasher.matches("not a hash", token)
    assert not hasher.matches(hasher.hash(token + "x"), token)  # a remembered token against another hash


def test_an_earlier_token_matches_its_moved_digest() -> None:
    hasher = TokenHasher(FAST)
    token = "an-earlier-random-token-of-the-old-format"
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert key_id_of(token) == digest[:KEY_ID_HEX]
    assert hasher.matches(hasher.hash_digest(digest), token)


@given(st.text(max_size=80))
@settings(max_examples=300)
def test_anything_that_is_no_token_names_no_key_or_a_hex_one(text: str) -> None:
    key_id = key_id_of(text)
    assert key_id is None or (len(key_id) == KEY_ID_HEX and set(key_id) <= set("0123456789abcdef"))


@pytest.mark.parametrize("token", ["", "sjl_", "sjl_xyz_secret", "sjl_0123456789ab_", "sjl_0123456789AB_s", "é" * 20])
def test_malformed_tokens_name_no_key(token: str) -> None:
    assert key_id_of(token) is None


# --- the key vault -------------------------------------------------------------


def test_a_sealed_key_opens_only_for_its_address_and_its_vault() -> None:
    vault = KeyVault(key_encryption_key="k" * 44)
    account, sealed = vault.generate()
    assert sealed.startswith(SEALED_PREFIX)
    assert bytes(account.key).hex() not in sealed
    assert vault.decrypt(sealed, account.address).address == account.address
    other = Account.create()
    with pytest.raises(ConfigurationError, match="damaged"):
        vault.decrypt(sealed, other.address)  # moved to another key's row
    with pytest.raises(ConfigurationError) as raised:
        KeyVault(key_encryption_key="wrong-vault-secret").decrypt(sealed, account.address)
    assert bytes(account.key).hex() not in str(raised.value)
    assert "wrong-vault-secret" not in str(raised.value)


def test_each_seal_is_fresh() -> None:
    vault = KeyVault(key_encryption_key="secret")
    account = Account.create()
    assert vault.encrypt(account) != vault.encrypt(account)


def test_keys_sealed_by_the_earlier_format_still_open() -> None:
    secret = "an installation secret"
    account = Account.create()
    legacy = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())).encrypt(bytes(account.key))
    vault = KeyVault(key_encryption_key=secret)
    assert vault.decrypt(legacy.decode(), account.address).address == account.address
    with pytest.raises(ConfigurationError, match="another address"):
        vault.decrypt(legacy.decode(), Account.create().address)


def test_the_key_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    path.write_text("a-long-random-key-encryption-key\n", encoding="utf-8")
    os.chmod(path, 0o640)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        read_key_file(path)
    os.chmod(path, 0o600)
    assert read_key_file(path) == "a-long-random-key-encryption-key"
    with pytest.raises(ConfigurationError, match="cannot read"):
        read_key_file(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    os.chmod(empty, 0o600)
    with pytest.raises(ConfigurationError, match="empty"):
        read_key_file(empty)


# --- rate limits -----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_allowance_then_a_retry_after_then_more() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)  # one a second, bursts of 60
    for _ in range(60):
        limiter.take("10.0.0.1", "this address")
    with pytest.raises(RateLimitedError) as raised:
        limiter.take("10.0.0.1", "this address")
    assert raised.value.retry_after == 1
    limiter.take("10.0.0.2", "this address")  # another client is not held back
    clock.now += 1.0
    limiter.take("10.0.0.1", "this address")
    with pytest.raises(RateLimitedError):
        limiter.take("10.0.0.1", "this address")


def test_a_limit_of_zero_is_no_limit() -> None:
    unlimited = RateLimiter(0)
    for _ in range(10_000):
        unlimited.take("x", "x")


def test_a_full_table_reuses_the_slot_idle_longest_and_a_throttled_client_stays_throttled() -> None:
    clock = Clock()
    table = BucketTable(slots=PROBES)  # every client probes the whole table
    limiter = RateLimiter(2, table=table, clock=clock)  # two a minute: refilled in 60 s
    for n in range(PROBES - 1):
        limiter.take(f"idle{n}", "c")
        clock.now += 1
    clock.now += 100
    limiter.take("busy", "c")
    limiter.take("busy", "c")
    limiter.take("newcomer", "c")  # one more client than slots: the one idle longest gives way
    assert table.key("idle0") not in table.clients()
    assert {table.key("busy"), table.key("newcomer")} <= table.clients()
    with pytest.raises(RateLimitedError):
        limiter.take("busy", "c")


def test_processes_mapping_one_table_file_share_each_clients_allowance(tmp_path: Path) -> None:
    """Two service processes (here two mappings of the file, each with its own lock) spend one allowance:
    60 a minute in all, not 60 each; the file holds no address, nor its plain hash."""
    clock = Clock()
    first = RateLimiter(60, table=BucketTable(tmp_path / "rates", secret=b"s"), clock=clock)
    second = RateLimiter(60, table=BucketTable(tmp_path / "rates", secret=b"s"), clock=clock)
    allowed = 0
    for n in range(200):
        try:
            (first if n % 2 else second).take("10.0.0.1", "this address")
            allowed += 1
        except RateLimitedError:
            pass
    assert allowed == 60
    table = (tmp_path / f"rates.{SLOTS}").read_bytes()
    assert b"10.0.0.1" not in table
    assert hashlib.blake2b(b"10.0.0.1", digest_size=16).digest() not in table
    assert len(table) == 32 + SLOTS * SLOT.size  # allocated whole when made


ALLOWANCE = 20_000


def _spend(path: str, barrier: Any) -> int:
    limiter = RateLimiter(ALLOWANCE, table=BucketTable(Path(path), secret=b"s"), clock=lambda: 5000.0)
    allowed = 0
    barrier.wait(timeout=60)  # all together, while tokens remain
    for _ in range(ALLOWANCE):
        try:
            limiter.take("203.0.113.9", "this address")
            allowed += 1
        except RateLimitedError:
            pass
    return allowed


def test_concurrent_processes_never_spend_more_than_the_allowance(tmp_path: Path) -> None:
    """Three processes taking at once from one file: exactly the allowance is granted (the lock holds;
    without it each process overwrote the others' takes and was granted nearly the whole allowance)."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(3) as pool:
        barrier = manager.Barrier(3)
        granted = pool.starmap(_spend, [(str(tmp_path / "rates"), barrier)] * 3)
    assert sum(granted) == ALLOWANCE, granted


def test_a_bucket_written_before_the_host_restarted_starts_full() -> None:
    """The monotonic clock begins again at boot: a time ahead of it is stale, not a debt to wait out."""
    clock = Clock()
    limiter = RateLimiter(2, table=BucketTable(slots=64), clock=clock)
    limiter.take("c", "c")
    limiter.take("c", "c")
    clock.now = 10.0  # the host restarted
    limiter.take("c", "c")
    limiter.take("c", "c")
    with pytest.raises(RateLimitedError):
        limiter.take("c", "c")


def test_a_file_that_is_not_a_rate_table_is_refused_and_a_table_needs_a_secret(tmp_path: Path) -> None:
    (tmp_path / f"rates.{SLOTS}").write_bytes(b"not a table")
    with pytest.raises(ConfigurationError, match="remove it"):
        BucketTable(tmp_path / "rates", secret=b"s")
    with pytest.raises(ConfigurationError, match="secret"):
        BucketTable(tmp_path / "other")
