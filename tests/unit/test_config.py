"""Settings from the environment: embedded defaults, and cookies fit for LMS iframes behind HTTPS."""

from __future__ import annotations

from pathlib import Path

import pytest

from lti_tool.config import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "BASE_URL",
        "PORT",
        "SESSION_COOKIE_SECURE",
        "SECRET_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


def test_embedded_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env(tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'lti_tool.sqlite3'}"
    assert settings.tasks_in_process and settings.base_url == "http://127.0.0.1:5000"
    assert not settings.session_cookie_secure and not settings.dev_platform
    assert len(settings.secret_key) > 40 and Settings.from_env(tmp_path).secret_key == settings.secret_key


def test_https_base_url_makes_cookies_secure_for_iframes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASE_URL", "https://tool.example/")
    settings = Settings.from_env(tmp_path)
    assert settings.base_url == "https://tool.example" and settings.session_cookie_secure
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    assert not Settings.from_env(tmp_path).session_cookie_secure


def test_broker_url_switches_tasks_to_a_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    assert not Settings.from_env(tmp_path).tasks_in_process
