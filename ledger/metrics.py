"""What the service counts for its operators, in Prometheus' terms (``/metrics``).

`Metrics` owns the counters and histograms the service's parts report to: each chain node's
answers and wrong answers, the batches the pipeline closes and how long their anchors take
to be final, the verdicts given, and the requests a rate limit refused. Nothing here names
a document, a holder or a client address.

Across service processes (`SIJILL_API_WORKERS`) prometheus-client's multiprocess mode adds
the processes' values up: each process writes its own to files in a folder named by
``PROMETHEUS_MULTIPROC_DIR``, set by `api.server.serve` before it starts them (the library
reads the variable when it is first imported, so it cannot be passed down as a setting).
What is a state rather than a count (queue depth, node heights) is read when scraped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
_ANCHOR_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)


def multiprocess_dir() -> Path | None:
    """The folder the service processes write their values to, when several run (else None)."""
    folder = os.environ.get(MULTIPROCESS_ENV)
    return Path(folder) if folder else None


def prepare_multiprocess_dir(folder: Path) -> None:
    """Empty `folder` (values of processes that ran before must not count) and name it to the
    processes about to start. Call before they start, from their parent."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_ENV] = str(folder)


class Metrics:
    """The service's counters and histograms, registered in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.node_requests = Histogram(
            "sijill_node_request_seconds",
            "Time a chain node took to answer a JSON-RPC request (a batch counts once), by endpoint and outcome",
            ["endpoint", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.node_wrong_answers = Counter(
            "sijill_node_wrong_answers",
            "Answers of a node set aside: it disagreed with the quorum, or its proof did not hold",
            ["endpoint"],
            registry=registry,
        )
        self.disagreements = Counter(
            "sijill_ledger_disagreements",
            "Verifications refused because the ledger's nodes disagreed (503 ledger_nodes_disagree)",
            registry=registry,
        )
        self.verdicts = Counter(
            "sijill_verdicts", "Verdicts given, by status (VALID, REVOKED, ...)", ["status"], registry=registry
        )
        self.batch_documents = Histogram(
            "sijill_batch_documents",
            "Documents in each batch the pipeline closed and signed an anchor for",
            buckets=_BATCH_BUCKETS,
            registry=registry,
        )
        self.anchor_seconds = Histogram(
            "sijill_anchor_seconds",
            "Seconds from a batch's anchor being signed to its block being final",
            buckets=_ANCHOR_BUCKETS,
            registry=registry,
        )
        self.rate_limited = Counter(
            "sijill_rate_limited",
            "Requests refused by a rate limit (429), by limit: per API key or per client address",
            ["limit"],
            registry=registry,
        )

    # What the service's parts report.

    def node_answered(self, endpoint: str, seconds: float, error: BaseException | None) -> None:
        """A request to `endpoint` ended after `seconds`, answered or failing with `error`."""
        self.node_requests.labels(endpoint, "error" if error is not None else "ok").observe(seconds)

    def node_wrong(self, endpoint: str) -> None:
        """`endpoint` answered, but its answer was set aside (a disagreement, a failed proof)."""
        self.node_wrong_answers.labels(endpoint).inc()

    def verdict(self, status: str) -> None:
        """A verdict of `status` was given."""
        self.verdicts.labels(status).inc()

    def nodes_disagreed(self) -> None:
        """A verification was refused: the nodes disagreed."""
        self.disagreements.inc()

    def batch_closed(self, documents: int) -> None:
        """A batch of `documents` was closed and its anchor signed."""
        self.batch_documents.observe(documents)

    def anchor_final(self, seconds: float) -> None:
        """An anchor became final `seconds` after it was signed."""
        self.anchor_seconds.observe(max(0.0, seconds))

    def refused(self, limit: str) -> None:
        """A rate limit (`limit`: "api_key" or "address") refused a request."""
        self.rate_limited.labels(limit).inc()

    def exposition(self, extra: Iterable[Collector] = ()) -> bytes:
        """The text format Prometheus scrapes: every process's values added up (when several run)
        or this process's, and what `extra` collectors read now."""
        folder = multiprocess_dir()
        if folder is not None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=str(folder))  # type: ignore[no-untyped-call]
        else:
            registry = self.registry
        scrape = CollectorRegistry()
        for collector in extra:
            scrape.register(collector)
        return generate_latest(registry) + generate_latest(scrape)


@dataclass(frozen=True, slots=True)
class NodeState:
    """One endpoint as a scrape sees it: its height (None: it does not answer) and its lag."""

    endpoint: str
    height: int | None
    lag: int | None


@dataclass(frozen=True, slots=True)
class ServiceState:
    """What is read when scraped rather than counted: the pipeline's backlog and the nodes."""

    queued_documents: int
    unsettled_batches: int
    nodes: Sequence[NodeState]


class StateCollector(Collector):
    """Gauges read at each scrape from `read` (the store and the nodes, not one process's memory)."""

    def __init__(self, read: Callable[[], ServiceState]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        state = self._read()
        yield GaugeMetricFamily(
            "sijill_queue_documents", "Documents accepted and waiting for a batch", value=state.queued_documents
        )
        yield GaugeMetricFamily(
            "sijill_unsettled_batches",
            "Batches whose anchor is signed and not yet final",
            value=state.unsettled_batches,
        )
        up = GaugeMetricFamily("sijill_node_up", "Whether an endpoint answered this scrape", labels=["endpoint"])
        height = GaugeMetricFamily("sijill_node_height", "An endpoint's latest block", labels=["endpoint"])
        lag = GaugeMetricFamily(
            "sijill_node_lag_blocks", "Blocks an endpoint is behind the highest", labels=["endpoint"]
        )
        for node in state.nodes:
            up.add_metric([node.endpoint], 0 if node.height is None else 1)
            if node.height is not None:
                height.add_metric([node.endpoint], node.height)
            if node.lag is not None:
                lag.add_metric([node.endpoint], node.lag)
        yield from (up, height, lag)
