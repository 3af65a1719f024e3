"""A local Anvil chain: the development default and the integration tests' chain."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from ledger.errors import ChainUnavailableError, ConfigurationError

NODE_MODULES = Path("node_modules")
"""npm's folder in the working directory: the repository's own where `make` and the tests run
(`Settings.node_modules_dir`, SIJILL_NODE_MODULES_DIR, names another)."""


def find_anvil(node_modules: Path = NODE_MODULES) -> Path:
    """The Anvil binary npm installed for this platform under `node_modules`, else `anvil` on PATH.

    The platform package's binary is preferred to ``node_modules/.bin/anvil``, a
    Node wrapper that would not pass signals on (a stopped wrapper would leave the
    node running). Raises `ConfigurationError` when npm did not install Anvil.
    """
    for candidate in sorted(node_modules.glob("@foundry-rs/anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK) and _runs(candidate):
            return candidate.absolute()
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise ConfigurationError(
        f"no Anvil under {node_modules.absolute()} nor on PATH; run `make setup` (npm install), "
        "or set SIJILL_NODE_MODULES_DIR to the repository's node_modules folder"
    )


def _runs(binary: Path) -> bool:
    try:
        return subprocess.run([str(binary), "--version"], capture_output=True, timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rpc_ready(url: str, timeout: float = 1.0) -> bool:
    """Whether a JSON-RPC node answers `eth_chainId` at `url`."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"the RPC URL {url!r} is not an http(s) URL")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            return "result" in json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False


class LocalNode:
    """A development JSON-RPC node process on 127.0.0.1, started and stopped by its owner.

    A subclass says which `command` starts it (in folder `cwd`) and what it is called in messages.
    """

    name = "node"
    cwd: Path | None = None

    def __init__(self, *, port: int, log_file: Path | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log_file = log_file
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The command line that starts this node."""
        raise NotImplementedError

    def start(self, *, timeout: float = 30.0) -> Self:
        """Start the node and wait until it answers. Raises `ChainUnavailableError` if it does not."""
        if rpc_ready(self.url):
            raise ConfigurationError(f"something already answers at {self.url}; stop it or choose another port")
        command = self.command()
        self._log = open(self._log_file, "ab") if self._log_file else None  # noqa: SIM115 (closed by stop)
        output = self._log if self._log is not None else subprocess.DEVNULL
        self._process = subprocess.Popen(command, cwd=self.cwd, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ChainUnavailableError(f"{self.name} exited at start with code {self._process.returncode}")
            if rpc_ready(self.url, timeout=0.5):
                return self
            time.sleep(0.05)
        self.stop()
        raise ChainUnavailableError(f"{self.name} did not answer at {self.url} within {timeout:.0f} s")

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the node cleanly (SIGTERM: Anvil saves its state), killing it if it hangs."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._close_log()

    def kill(self) -> None:
        """Kill the node at once, losing what it did not save (fault tests)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


class AnvilProcess(LocalNode):
    """One Anvil node on 127.0.0.1, started and stopped by its owner.

    The node is `binary`, or the Anvil found under `node_modules` (`find_anvil`). With
    `state_file`, the chain is loaded from and saved to that file (every `state_interval`
    seconds and on a clean stop), so restarts keep it.
    """

    name = "anvil"

    def __init__(
        self,
        *,
        port: int,
        binary: Path | None = None,
        node_modules: Path = NODE_MODULES,
        state_file: Path | None = None,
        state_interval: int = 1,
        block_time: float | None = None,
        log_file: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        super().__init__(port=port, log_file=log_file)
        self._binary = binary
        self._node_modules = node_modules
        self._state_file = state_file
        self._state_interval = state_interval
        self._block_time = block_time
        self._extra_args = extra_args

    def command(self) -> list[str]:
        """The command line that starts this node."""
        binary = str(self._binary or find_anvil(self._node_modules))
        command = [binary, "--host", "127.0.0.1", "--port", str(self.port), "--silent"]
        if self._state_file is not None:
            self._state_file.parent.mkdir(parents=True, exist_ok=True)
            command += ["--state", str(self._state_file), "--state-interval", str(self._state_interval)]
        if self._block_time is not None:
            command += ["--block-time", str(self._block_time)]
        return command + list(self._extra_args)
