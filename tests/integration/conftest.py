"""Fixtures shared by the LTI integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lti_platform_helpers import TestPlatform, running_platform


@pytest.fixture
def platform() -> Iterator[TestPlatform]:
    """A Moodle-shaped test platform: real RSA keys and a real JWKS server on 127.0.0.1."""
    with running_platform() as p:
        yield p
