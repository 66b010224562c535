"""The API's request and response bodies (pydantic), one module per area; they make the OpenAPI document."""

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

MAX_ID = 2**31 - 1  # a row id fits PostgreSQL's integer (and SQLite's): a bigger one is refused, not a 500

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
