"""The demo relying party's loan form (`examples/loan_form`), which `sijill up` serves in development.

The form is an application of its own that knows Sijill only by its HTTP API, as a bank's would; it is
loaded from the repository's `examples/` (beside `SIJILL_WEB_DIR`), not from the package.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from ledger.settings import Settings
from ledger.usecases.setup import DEMO_FORM_PATH


def loan_form(settings: Settings) -> Any | None:
    """The loan form's ASGI application, talking to this service, or None where the repository's
    `examples/` is not at hand (an installed wheel)."""
    path = settings.web_dir.resolve().parent / "examples" / "loan_form" / "app.py"
    spec = importlib.util.spec_from_file_location("sijill_demo_loan_form", path)
    if not path.is_file() or spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    base = settings.public_base_url.rstrip("/")
    return module.create_app(
        sijill_url=base,
        token=settings.demo_relying_party_token.get_secret_value(),
        public_url=f"{base}{DEMO_FORM_PATH}",
    )
