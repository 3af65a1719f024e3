"""Pure document handling: OpenAttestation v2 salting, digests, Merkle batches,
obfuscation and document types. Nothing here touches the chain or the store."""
