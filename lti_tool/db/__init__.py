"""Persistence: typed SQLAlchemy models, the database handle and set-based queries."""

from .base import Base
from .database import Database

__all__ = ["Base", "Database"]

from . import (
    lti_models,  # noqa: E402, F401  (registers the LTI security tables on Base.metadata)
    lti_service_models,  # noqa: E402, F401  (registers the LTI service tables on Base.metadata)
    records_models,  # noqa: E402, F401  (registers the records tables on Base.metadata)
)
