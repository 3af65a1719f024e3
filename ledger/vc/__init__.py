"""Verifiable credentials (W3C VC Data Model 2.0) and their proofs, pure: bytes and JSON in, bytes and
JSON out. Nothing here reads the chain or the store; the use cases hand it what they read.

- `loader`: the JSON-LD contexts Sijill knows, bundled; nothing is ever fetched.
- `rdf`: JSON-LD to canonical N-Quads (RDFC-1.0 with pyld), blank-node relabelling, skolemisation,
  and selecting parts of a document by JSON pointers.
- `multikey`: P-256 public and secret keys as multikeys, and `did:key` identifiers.
- `ecdsa_sd`: the `ecdsa-sd-2023` Data Integrity cryptosuite: base proofs (issuer), derived proofs
  (holder, disclosing only chosen claims) and their verification.
- `status_list`: Bitstring Status List bits, encoded as the Recommendation says.
- `credential`: a Sijill document as an unsigned VC 2.0 credential, and what a holder may never hide.
- `did`: an agency's `did:web` under the service's base URL, and its DID document.
"""
