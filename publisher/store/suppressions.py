"""Named SQL conditions on the suppression list, shared by audience queries."""

from __future__ import annotations

from sqlalchemy import exists, func, or_

from publisher.models import Suppression


def suppressed_clause(email_column, list_id: int):
    """True when the address in email_column is suppressed everywhere or on list_id."""
    return exists().where(Suppression.email == func.lower(email_column),
                          or_(Suppression.list_id.is_(None), Suppression.list_id == list_id))
