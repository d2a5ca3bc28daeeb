"""The development platform launches into any loaded course map: one development course per map, a new map
folder beside the shipped ones included, and it links to its gradebook page (SQLite, PostgreSQL)."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from lti_tool import create_app
from lti_tool.cli import main
from lti_tool.db.models import Context
from tests.conftest import app_config
from tests.integration.test_lti_dev_platform import Browser, parse
from tests.lti_platform_helpers import landed_path

SHIPPED = Path(__file__).resolve().parents[2] / "course_maps"


@pytest.fixture
def maps_dir(tmp_path: Path) -> Path:
    """COURSE_MAPS_DIR as the README says: the shipped folders, and a new map in a folder beside them."""
    root = tmp_path / "course_maps"
    for name in ("learning-differences", "global-graduates"):
        shutil.copytree(SHIPPED / name, root / name)
    mine = root / "my-course"
    shutil.copytree(SHIPPED / "global-graduates", mine)
    course_yaml = mine / "course.yaml"
    text = course_yaml.read_text()
    assert text.count("\nid: global-graduates\n") == 1  # the course's id; its stack keeps its own
    text = text.replace("\nid: global-graduates\n", "\nid: my-course\n")
    course_yaml.write_text(re.sub(r"^title: ", "title: My Course, from ", text, count=1, flags=re.M))
    return root


@pytest.fixture
def dev(database_url: str, tmp_path: Path, maps_dir: Path) -> Any:
    config = app_config(database_url, tmp_path, DEV_PLATFORM="1", COURSE_MAPS_DIR=str(maps_dir))
    # `make run` runs `lti-tool course-maps load` without paths: every folder in COURSE_MAPS_DIR.
    env = {"DATABASE_URL": database_url, "COURSE_MAPS_DIR": str(maps_dir), "SECRET_KEY": "x"}
    result = CliRunner().invoke(main, ["course-maps", "load"], env=env)
    assert result.exit_code == 0, result.output
    assert {line.split(":")[0] for line in result.output.splitlines()} == {
        "loaded learning-differences",
        "loaded global-graduates",
        "loaded my-course",
    }
    app = create_app(config)
    yield app, app.test_client()
    app.extensions["db"].dispose()


def _launch(browser: Browser, course: str, label: str, target: str = "") -> Any:
    home = browser.go("GET", "/dev/platform/")
    for form in parse(home.get_data(as_text=True)).forms:
        if form.fields.get("course") != course:
            continue
        for name, value, button in form.buttons:
            if button.startswith(label):
                return browser.go("POST", form.action, {**form.fields, name: value, "target": target})
    raise AssertionError(f"no {label!r} for {course!r} on the dev platform page")


def test_the_home_page_offers_a_course_per_loaded_map_and_the_gradebook(dev: Any) -> None:
    _app, client = dev
    page = client.get("/dev/platform/").get_data(as_text=True)
    courses = re.findall(r'data-course="([^"]+)"', page)
    assert courses == ["learning-differences", "global-graduates", "my-course"]  # the shipped map first
    assert 'href="/dev/platform/scores"' in page
    assert client.get("/dev/platform/scores").status_code == 200
    assert "Stack: Global Graduates" in page


@pytest.mark.parametrize("course", ["global-graduates", "my-course"])
def test_launches_land_in_the_course_of_the_chosen_map(dev: Any, course: str) -> None:
    app, client = dev
    browser = Browser(client)
    page = _launch(browser, course, "Launch as learner")
    assert page.status_code == 200, page.get_data(as_text=True)[:1000]
    assert landed_path(browser.url, page) == "/learn/"
    text = page.get_data(as_text=True)
    assert ("My Course, from" in text) == (course == "my-course")
    designer = _launch(Browser(client), course, "Launch as course designer")
    assert designer.status_code == 200
    _launch(Browser(client), "learning-differences", "Launch as learner")
    with app.extensions["db"].read() as session:
        bound = {k: v for k, v in session.execute(select(Context.context_id, Context.course_key))}
    assert bound == {f"dev-course-{course}": course, "dev-course": "learning-differences"}


def test_a_resource_link_opens_a_stack_of_the_chosen_map(dev: Any) -> None:
    _app, client = dev
    browser = Browser(client)
    page = _launch(browser, "global-graduates", "Launch as learner", target="stack:global-graduates")
    assert page.status_code == 200, page.get_data(as_text=True)[:1000]
    assert urlsplit(browser.url).path == "/learn/stacks/global-graduates"


def test_deep_linking_into_another_map_reaches_its_picker(dev: Any) -> None:
    _app, client = dev
    browser = Browser(client)
    page = _launch(browser, "my-course", "Try deep linking")
    assert page.status_code == 200, page.get_data(as_text=True)[:1000]
    assert urlsplit(browser.url).path == "/lti/deep-link"
    assert "Global Graduates" in page.get_data(as_text=True)


def test_a_map_that_is_not_loaded_is_refused(dev: Any) -> None:
    _app, client = dev
    response = client.post("/dev/platform/start", data={"user": "dev-learner", "course": "nowhere"})
    assert response.status_code == 400
    assert "No course map 'nowhere' is loaded" in html.unescape(response.get_data(as_text=True))
