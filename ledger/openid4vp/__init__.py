"""OpenID for Verifiable Presentations 1.0: the Digital Credentials Query Language (DCQL) a relying
party asks with, and the decision rules it may attach. Pure: no I/O, nothing of ours but errors."""
