"""Fixtures shared by the LTI integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lti_platform_helpers import TestPlatform, lti_app, running_platform


@pytest.fixture
def platform() -> Iterator[TestPlatform]:
    """A Moodle-shaped test platform: real RSA keys and a real JWKS server on 127.0.0.1."""
    with running_platform() as p:
        yield p


@pytest.fixture
def registered_app(database_url: str, tmp_path: Path, platform: TestPlatform) -> Iterator[Any]:
    """The tool on each database with ``platform`` registered."""
    application = lti_app(database_url, tmp_path)
    platform.register(application.extensions["db"])
    yield application
    application.extensions["db"].dispose()
