"""Persistence: typed SQLAlchemy models, the database handle and set-based queries."""

from .base import Base
from .database import Database

__all__ = ["Base", "Database"]
