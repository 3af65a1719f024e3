"""The input of an issuance, `{document_type, fields, expires_at?}`: one model for the API and the CLI.

`POST /v1/documents` reads its body with it (FastAPI answers 422 naming the field);
`sijill issue` reads each JSON file with `IssueInput.parse`, which raises
`InvalidRequestError` naming the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ledger.errors import InvalidRequestError
from ledger.usecases.issuance import IssueRequest


class IssueInput(BaseModel):
    """One document to issue."""

    model_config = ConfigDict(extra="forbid")  # typos are reported, not ignored

    document_type: str = Field(examples=["commercial-licence"], max_length=64)
    fields: dict[str, Any] = Field(description="The document's fields, checked against its type's JSON Schema")
    expires_at: AwareDatetime | None = Field(default=None, description="When the document stops being valid")

    def to_request(self) -> IssueRequest:
        """The use cases' form of this input."""
        return IssueRequest(document_type=self.document_type, fields=self.fields, expires_at=self.expires_at)

    @classmethod
    def parse(cls, raw: object) -> IssueRequest:
        """`raw` (decoded JSON) as an `IssueRequest`.

        Raises `InvalidRequestError` naming the first field at fault, in the API's words.
        """
        try:
            return cls.model_validate(raw).to_request()
        except ValidationError as error:
            problems = error.errors()
            field = ".".join(str(part) for part in problems[0]["loc"])
            if not field:
                raise InvalidRequestError('must hold {"document_type": ..., "fields": {...}}') from None
            message = f"'{field}': {problems[0]['msg']}"
            if len(problems) > 1:
                message += f" (and {len(problems) - 1} more problem(s))"
            raise InvalidRequestError(message, field=field) from None
