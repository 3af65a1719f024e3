"""The pipeline's worker: for each agency it holds the lease of, settle transactions and close batches;
and the transactions of every other sender (agency admins, council members, the operator). About once a
minute it also drops the verified presentations' results that nobody collected in time.

Any number of service processes may run a worker on one database: an agency's lease (a row
renewed on every round) lets one of them at a time batch and send for it, and a worker that
dies hands the agency over when its lease runs out. The other senders share one lease.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from contextlib import suppress

from ledger.errors import SijillError
from ledger.usecases.anchoring import settle
from ledger.usecases.batching import close_due_batches
from ledger.usecases.context import Ledger
from ledger.usecases.issuance_jobs import job_lease, job_progress, run_job
from ledger.usecases.relying_parties import discard_stale_results
from ledger.usecases.sending import settle_senders

log = logging.getLogger(__name__)


SENDERS_LEASE = "senders"
JOB_POLL_SECONDS = 0.5
RESULTS_SWEEP_SECONDS = 60.0


def lease_name(agency_id: str) -> str:
    """The lease that lets one worker batch and send for an agency."""
    return f"agency:{agency_id}"


def agencies_with_work(ledger: Ledger) -> list[str]:
    """Agencies with documents waiting in the queue or transactions not yet final in the outbox."""
    return sorted(ledger.queue.agencies() | ledger.outbox.agencies())


class RoundWorker:
    """Runs `run_once` in rounds, in a daemon thread of its own, until stopped; hands back its leases."""

    thread_name = "sijill-rounds"
    interval: float | None = None  # seconds between rounds; None: the settings' worker interval

    def __init__(self, ledger: Ledger, *, owner: str | None = None) -> None:
        self._ledger = ledger
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._held: set[str] = set()

    def run_once(self) -> None:
        """One round."""
        raise NotImplementedError

    def _hold(self, name: str) -> bool:
        """Take or renew the lease `name`; True while this worker holds it."""
        ledger = self._ledger
        if ledger.leases.acquire(name, self.owner, seconds=ledger.settings.lease_seconds, now=time.time()):
            self._held.add(name)
            return True
        self._held.discard(name)
        return False

    def run(self) -> None:
        """Rounds until `stop`; a failure of one round is logged and the next one comes."""
        interval = self.interval if self.interval is not None else self._ledger.settings.worker_interval_seconds
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a worker must outlive a bad round (a database hiccup, a bug)
                log.exception("%s: round failed", self.thread_name)
            self._stop.wait(interval)

    def start(self) -> RoundWorker:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    @property
    def stopping(self) -> bool:
        """Whether `stop` was called."""
        return self._stop.is_set()

    def stop(self, *, timeout: float = 10.0) -> None:
        """Finish the current round, stop, and give the leases back so another worker takes over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():  # still in a round: its leases run out by themselves
                return
        for name in list(self._held):
            with suppress(SijillError):  # else the lease runs out by itself
                self._ledger.leases.release(name, self.owner)
        self._held.clear()


class PipelineWorker(RoundWorker):
    """Batches and sends for the agencies whose leases it holds, in a thread of its own."""

    thread_name = "sijill-pipeline"

    def __init__(self, ledger: Ledger, *, owner: str | None = None) -> None:
        super().__init__(ledger, owner=owner)
        self._swept = 0.0

    def run_once(self) -> None:
        """One round: every agency with work whose lease this worker gets or holds."""
        ledger = self._ledger
        for agency_id in agencies_with_work(ledger):
            name = lease_name(agency_id)
            if not self._hold(name):
                continue

            def still_held(name: str = name) -> bool:  # renewed before each batch: a long backlog keeps it
                return self._hold(name)

            try:
                settle(ledger, agency_id)
                close_due_batches(ledger, agency_id, now=time.time(), still_held=still_held)
            except SijillError as error:  # the chain is down, the registry paused...: next round
                log.warning("pipeline: agency %s waits: %s", agency_id, error.message)
            except Exception:  # one agency's trouble must not starve the others
                log.exception("pipeline: agency %s failed this round", agency_id)
        self._settle_senders()
        self._sweep_results()

    def _sweep_results(self) -> None:
        if time.monotonic() - self._swept < RESULTS_SWEEP_SECONDS:
            return
        self._swept = time.monotonic()
        try:
            dropped = discard_stale_results(self._ledger)
        except Exception:  # the database will be there next minute
            log.exception("pipeline: dropping uncollected presentation results failed")
            return
        if dropped:
            log.info("pipeline: dropped %d presentation result(s) nobody collected in time", dropped)

    def _settle_senders(self) -> None:
        ledger = self._ledger
        if not ledger.outbox.other_senders():
            return
        if not self._hold(SENDERS_LEASE):
            return
        try:
            settle_senders(ledger)
        except SijillError as error:
            log.warning("pipeline: other senders' transactions wait: %s", error.message)
        except Exception:
            log.exception("pipeline: settling other senders' transactions failed this round")


class JobWorker(RoundWorker):
    """Reads the sheets of the issuance jobs still reading, each under a lease of its own, in a thread apart
    from the pipeline's (a long sheet must not hold up the anchors it waits for): a job whose process died
    resumes in another process's worker once its lease runs out."""

    thread_name = "sijill-jobs"
    interval = JOB_POLL_SECONDS  # a new job waits this long at most; idle, two queries a round

    def run_once(self) -> None:
        """Read every job still reading whose lease this worker gets, chunk by chunk, renewing it."""
        ledger = self._ledger
        for job in ledger.jobs.reading():
            name = job_lease(job.id)
            if self.stopping or not self._hold(name):
                continue

            def keep_going(name: str = name) -> bool:
                return not self.stopping and self._hold(name)

            try:
                run_job(ledger, job.id, keep_going=keep_going)
            except SijillError as error:  # a sheet that cannot be read: the job is FAILED, with why
                log.warning("jobs: job %s stopped: %s", job.id, error.message)
        for job in ledger.jobs.accepted():
            job_progress(ledger, job.id)  # ANCHORED once every document is
