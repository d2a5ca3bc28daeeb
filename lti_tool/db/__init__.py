"""Persistence: typed SQLAlchemy models, the database handle and set-based queries."""

from .database import Database
from .base import Base

__all__ = ["Base", "Database"]
