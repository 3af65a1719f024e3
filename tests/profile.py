"""How hard the property tests search: `make test` runs the quick profile, `make test-deep` the deep one.

The profile is chosen by `SIJILL_TEST_PROFILE` (`quick`, the default, or `deep`), which only the
Makefile's `test-deep` target sets; each property test names both of its sizes with `scaled`.
"""

from __future__ import annotations

import os

PROFILE = os.environ.get("SIJILL_TEST_PROFILE", "quick")
if PROFILE not in ("quick", "deep"):
    raise RuntimeError(f"SIJILL_TEST_PROFILE must be 'quick' or 'deep', not {PROFILE!r}")


def scaled(quick: int, deep: int) -> int:
    """`quick` in the quick profile, `deep` in the deep one."""
    return deep if PROFILE == "deep" else quick
