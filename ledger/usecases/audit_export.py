"""Every registry event, written out for an auditor's own tools (``sijill audit export``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ledger.usecases.context import Ledger


def export_events(ledger: Ledger, out: Path, fmt: str) -> int:
    """Write every registry event to `out` as JSON Lines, or as CSV when `fmt` is "csv"; returns how many."""
    reader = ledger.registry.events(ledger.artifact.abi)
    count = 0
    with out.open("w", encoding="utf-8", newline="") as sink:
        writer = csv.writer(sink) if fmt == "csv" else None
        if writer is not None:
            writer.writerow(["block_number", "block_hash", "transaction", "log_index", "event", "arguments"])
        for _last, events in reader.pages(ledger.deployment.block_number, reader.head()):
            for event in events:
                if writer is not None:
                    writer.writerow(
                        [
                            event.block_number,
                            event.block_hash,
                            event.tx_hash,
                            event.log_index,
                            event.name,
                            json.dumps(dict(event.args), ensure_ascii=False),
                        ]
                    )
                else:
                    sink.write(json.dumps(event.as_json(), ensure_ascii=False) + "\n")
                count += 1
    return count
