"""The auditor's pure parts: replaying registry events by the contract's rules, the
Merkle accumulator over all events, signed checkpoints and reports."""
