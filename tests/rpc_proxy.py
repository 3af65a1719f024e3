"""A JSON-RPC proxy in front of a real node that can lie, lag, drop requests and answer slowly.

Tests start one per endpoint they need, each in front of the same Anvil, and set what it does:

- `down`: close every connection without an answer (a node that is gone);
- `delay`: seconds to wait before answering (a slow node);
- `stale_by`: report a block number this many blocks behind (a node that lags);
- `rewrite[method]`: a function of (params, result) that returns the result to give instead (a
  liar: a forged `eth_call`, forged `eth_getProof` values, a forged header);
- `refuse[method]`: a function of params that returns a JSON-RPC error to give instead, or None
  (a node with limits: Besu's capped log ranges, its refusal of a distant nonce); a refused
  request is not forwarded;
- `max_batch`: a batch of more requests is refused whole, as Besu's `--rpc-http-max-batch-size`
  does (`largest_batch` is the largest it was sent).

Only 127.0.0.1; one daemon thread per connection; `close` stops it.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Rewrite = Callable[[list[Any], Any], Any]


class RpcProxy:
    """One endpoint: forwards to `upstream`, changed as its fields say."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.down = False
        self.delay = 0.0
        self.stale_by = 0
        self.rewrite: dict[str, Rewrite] = {}
        self.refuse: dict[str, Callable[[list[Any]], dict[str, Any] | None]] = {}
        self.max_batch: int | None = None
        self.largest_batch = 0
        self.requests = 0
        self._local = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                proxy.requests += 1
                if proxy.down:
                    self.close_connection = True
                    self.connection.close()
                    return
                if proxy.delay:
                    time.sleep(proxy.delay)
                answer = json.dumps(proxy.handle(json.loads(body))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="rpc-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Where clients reach this endpoint."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def honest(self) -> None:
        """Stop every lie, lag and failure."""
        self.down, self.delay, self.stale_by, self.rewrite, self.refuse = False, 0.0, 0, {}, {}
        self.max_batch = None

    def _forward(self, payload: Any) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        body = json.dumps(payload).encode()
        try:
            connection.request("POST", "/", body, {"Content-Type": "application/json"})
            return json.loads(connection.getresponse().read())
        except (OSError, http.client.HTTPException):
            connection.close()
            self._local.connection = None
            raise

    def handle(self, payload: Any) -> Any:
        """The answer to one request or batch, as this endpoint gives it."""
        requests = payload if isinstance(payload, list) else [payload]
        if isinstance(payload, list):
            self.largest_batch = max(self.largest_batch, len(payload))
            if self.max_batch is not None and len(payload) > self.max_batch:
                return {
                    "jsonrpc": "2.0",
                    "id": None,
                    "error": {"code": -32005, "message": "Number of requests exceeds max batch size"},
                }
        refused = {}  # a refused request never reaches the node (a refused transaction is not sent)
        for request in requests:
            method, params = request.get("method"), request.get("params") or []
            refusal = self.refuse[method](params) if method in self.refuse else None
            if refusal is not None:
                refused[request.get("id")] = {"jsonrpc": "2.0", "id": request.get("id"), "error": refusal}
        forwarded = [request for request in requests if request.get("id") not in refused]
        by_id = {answer.get("id"): answer for answer in (self._forward(forwarded) if forwarded else [])}
        answers = [refused.get(request.get("id")) or by_id.get(request.get("id")) for request in requests]
        for request, answer in zip(requests, answers, strict=True):
            if answer is None or "result" not in answer:
                continue
            method, params = request.get("method"), request.get("params") or []
            if method == "eth_blockNumber" and self.stale_by:
                answer["result"] = hex(max(0, int(answer["result"], 16) - self.stale_by))
            if method in self.rewrite:
                answer["result"] = self.rewrite[method](params, answer["result"])
        return answers if isinstance(payload, list) else answers[0]

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
