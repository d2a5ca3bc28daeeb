"""Small accessors for what create_app() put on the app."""

from __future__ import annotations

from flask import current_app

from ..config import Settings
from ..db import Database


def db() -> Database:
    database: Database = current_app.extensions["db"]
    return database


def settings() -> Settings:
    s: Settings = current_app.extensions["settings"]
    return s
