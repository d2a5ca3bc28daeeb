"""Licensure office files: the shipped offices load with the seeds' rules, and each mistake is reported at
its file, line and field, by the loader, at app start-up and by ``lti-tool offices check``."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from lti_tool import create_app
from lti_tool.cli import main
from lti_tool.domain.licensure import (
    FileLayout,
    OfficeProfile,
    RecordFacts,
    RuleKind,
    describe_office,
    units_table,
)
from lti_tool.maps import MapError
from lti_tool.records.offices import OfficesInvalid, load_offices, validate_offices
from tests.conftest import app_config

REPO = Path(__file__).resolve().parents[2]
OFFICES = REPO / "licensure_offices"


def copy_offices(tmp_path: Path) -> Path:
    target = tmp_path / "offices"
    shutil.copytree(OFFICES, target, ignore=shutil.ignore_patterns("schema", "README.md"))
    return target


def edit(file: Path, old: str, new: str) -> int:
    """Replace the first ``old`` in ``file``; returns the 1-based line where it started."""
    text = file.read_text()
    index = text.index(old)
    file.write_text(text[:index] + new + text[index + len(old) :])
    return text.count("\n", 0, index) + 1


def line_of(file: Path, pattern: str) -> int:
    return next(i for i, line in enumerate(file.read_text().splitlines(), 1) if re.search(pattern, line))


def errors_in(directory: Path, development: bool = False) -> list[MapError]:
    return [p for p in validate_offices(directory, development=development) if p.is_error]


def the_error(directory: Path, message_part: str, development: bool = False) -> MapError:
    errors = errors_in(directory, development)
    found = [e for e in errors if message_part in e.message]
    assert len(found) == 1, "\n".join(str(e) for e in errors)
    return found[0]


# --- the shipped offices ----------------------------------------------------------------------------------


def test_shipped_offices_load_with_the_seeds_rules() -> None:
    offices = load_offices(OFFICES)
    assert sorted(offices) == ["md-bcps", "nc-dpi", "nv-ccsd"]
    nc, md, nv = offices["nc-dpi"], offices["md-bcps"], offices["nv-ccsd"]

    assert (nc.state, nc.unit_singular, nc.rule.kind) == ("NC", "renewal credit", RuleKind.HOURS_PER_UNIT)
    assert (nc.rule.hours_per_unit, nc.rule.cap_units, nc.rule.decimals) == (Decimal(10), None, 1)
    assert nc.accepts == {"stack", "course_award"} and nc.accepts_courses == frozenset()
    assert nc.pull and nc.push is None and nc.file_layouts == (FileLayout.GENERIC, FileLayout.CE_BROKER)
    assert nc.ce_broker is not None and nc.ce_broker.profession == "Teacher"
    assert describe_office(nc) == "10 contact hours = 1 renewal credit"

    assert (md.state, md.jurisdiction, md.unit_plural) == (
        "MD",
        "Baltimore County Public Schools",
        "CPD credits",
    )
    assert (md.rule.kind, md.rule.credentials_per_unit, md.rule.decimals) == (
        RuleKind.CREDENTIALS_PER_UNIT,
        2,
        0,
    )
    assert md.accepts == {"stack"}  # a course award would count its stacks' credentials twice
    assert "Every two BCPS approved micro-credentials" in md.notes

    assert (nv.state, nv.jurisdiction) == ("NV", "Clark County School District (Las Vegas, Nevada)")
    assert (nv.rule.hours_per_unit, nv.rule.cap_units, nv.rule.decimals) == (Decimal(3), Decimal(30), 1)
    assert "up to 30 CUs" in nv.notes and "\n" not in nv.notes


def test_shipped_offices_convert_the_learning_differences_mooc_ed() -> None:
    """Three 10-hour stacks of 5 credentials, then the course award (0 hours): each office's own count."""
    offices = load_offices(OFFICES)
    when = datetime(2024, 9, 1, tzinfo=UTC)
    grants = [RecordFacts(f"s{i}", when, Decimal(10), 5, "stack", "learning-differences") for i in range(3)]
    grants.append(RecordFacts("award", when, Decimal(0), 15, "course_award", "learning-differences"))

    def units(office: OfficeProfile) -> list[str]:
        return [str(u) for _, u in units_table(office, grants)]

    assert units(offices["nc-dpi"]) == ["1.0", "1.0", "1.0", "0.0"]  # 3 renewal credits, as NC State says
    assert units(offices["md-bcps"]) == ["2", "3", "2", "0"]  # 15 credentials: 7 CPD credits
    assert units(offices["nv-ccsd"]) == ["3.3", "3.3", "3.3", "0.0"]


def test_shipped_offices_have_no_errors_and_flag_the_ce_broker_placeholders() -> None:
    problems = validate_offices(OFFICES)
    assert not [p for p in problems if p.is_error]
    assert [(p.file.rsplit("/", 1)[-1], p.path) for p in problems] == [
        ("nc-dpi.yaml", "ce_broker.provider_number"),
        ("nc-dpi.yaml", "ce_broker.course_number"),
    ]


# --- each check, at its file, line and field --------------------------------------------------------------


CASES = [
    # (file, old, new, field path, message part, line pattern)
    (
        "nc-dpi",
        "key: nc-dpi",
        "key: nc-dpj",
        "key",
        "office key 'nc-dpj' must match its file name 'nc-dpi'",
        "^key:",
    ),
    (
        "nv-ccsd",
        "  pull: true\n",
        "  pull: true\n  push:\n    url: http://records.example.gov/ceu\n    secret_env: NV_SECRET\n",
        "receives.push.url",
        "must be an https:// URL (got http scheme)",
        "url:",
    ),
    (
        "nv-ccsd",
        "  pull: true\n",
        "  pull: true\n  push:\n    url: https://10.1.2.3/ceu\n    secret_env: NV_SECRET\n",
        "receives.push.url",
        "points at this machine or a private network (10.1.2.3)",
        "url:",
    ),
    (
        "nv-ccsd",
        "  pull: true\n",
        "  pull: true\n  push:\n    url: https://localhost/ceu\n    secret_env: NV_SECRET\n",
        "receives.push.url",
        "points at this machine or a private network (localhost)",
        "url:",
    ),
    (
        "nv-ccsd",
        "  pull: true\n",
        "  pull: true\n  push:\n    secret_env: NV_SECRET\n",
        "receives.push",
        "missing required field 'url'",
        "push:",
    ),
    (
        "nv-ccsd",
        "  pull: true\n",
        "  pull: true\n  push:\n    url: https://records.example.gov/ceu\n",
        "receives.push",
        "missing required field 'secret_env'",
        "push:",
    ),
    (
        "nv-ccsd",
        "  pull: true\n",
        "  pull: true\n  push:\n    url: https://records.example.gov/ceu\n    secret_env: s3cr3t-value\n",
        "receives.push.secret_env",
        "the NAME of an environment variable",
        "secret_env:",
    ),
    (
        "nc-dpi",
        "ce_broker:\n",
        "ce_brokers:\n",
        "ce_brokers",
        "unknown field 'ce_brokers' (did you mean 'ce_broker'?)",
        "^ce_brokers:",
    ),
    (
        "md-bcps",
        "  files: [generic]",
        "  files: [generic, ce_broker]",
        "receives.files[1]",
        "the ce_broker layout needs a ce_broker block",
        "files:",
    ),
    (
        "nc-dpi",
        "  hours_per_unit: 10\n",
        "  hours_per_unit: 10\n  credentials_per_unit: 2\n",
        "rule.credentials_per_unit",
        "belongs to a credentials_per_unit rule; remove it",
        "credentials_per_unit:",
    ),
    (
        "nc-dpi",
        "  hours_per_unit: 10\n",
        "",
        "rule",
        "an hours_per_unit rule needs hours_per_unit",
        "^rule:",
    ),
    (
        "nc-dpi",
        "hours_per_unit: 10",
        "hours_per_unit: 0",
        "rule.hours_per_unit",
        "must be above 0",
        "hours_per_unit: 0",
    ),
    (
        "md-bcps",
        "  decimals: 0 ",
        "  decimals: 1 ",
        "rule.decimals",
        "a credentials_per_unit rule counts whole units: decimals must be 0",
        "decimals:",
    ),
    (
        "md-bcps",
        "  credentials_per_unit: 2 ",
        "  hours_per_unit: 2 ",
        "rule",
        "a credentials_per_unit rule needs credentials_per_unit",
        "^rule:",
    ),
    (
        "nv-ccsd",
        "cap_units: 30 ",
        "cap_units: 30.05 ",
        "rule.cap_units",
        "30.05 has more decimal places than decimals (1)",
        "cap_units:",
    ),
    (
        "nv-ccsd",
        "kind: hours_per_unit",
        "kind: hours_per_units",
        "rule.kind",
        "'hours_per_units' is not one of hours_per_unit, credentials_per_unit (did you mean 'hours_per_unit'",
        "kind:",
    ),
    ("nv-ccsd", "state: NV", "state: 12", "state", "12 is not text; put it in quotes", "^state:"),
    ("nv-ccsd", "state: NV", "state: Nevada", "state", "two-letter postal code", "^state:"),
    ("nv-ccsd", "  pull: true", "  pull: sometimes", "receives.pull", "must be true or false", "pull:"),
    (
        "md-bcps",
        "  grants: [stack]",
        "  grants: []",
        "accepts.grants",
        "the list is empty: add at least one grant kind (stack or course_award)",
        "grants:",
    ),
    (
        "md-bcps",
        "  grants: [stack]",
        "  grants: [stacks]",
        "accepts.grants[0]",
        "'stacks' is not one of",
        "grants:",
    ),
    (
        "nv-ccsd",
        "hours_per_unit: 3 ",
        "hour_per_unit: 3 ",
        "rule.hour_per_unit",
        "unknown field 'hour_per_unit' (did you mean 'hours_per_unit'?)",
        "hour_per_unit:",
    ),
    (
        "nc-dpi",
        "  singular: renewal credit",
        "  singular: renewal: credit",
        "",
        "YAML syntax error",
        "singular:",
    ),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "path", "message", "pattern"),
    CASES,
    ids=[f"{c[0]}:{c[3] or 'yaml'}" for c in CASES],
)
def test_each_mistake_is_reported_at_its_file_line_and_field(
    tmp_path: Path, name: str, old: str, new: str, path: str, message: str, pattern: str
) -> None:
    directory = copy_offices(tmp_path)
    file = directory / f"{name}.yaml"
    edit(file, old, new)
    error = the_error(directory, message)
    assert (error.file, error.line, error.path) == (file.as_posix(), line_of(file, pattern), path)
    # The other files are untouched and the broken one is the only one with errors.
    assert {e.file for e in errors_in(directory)} == {file.as_posix()}


def test_an_error_prints_as_file_line_column_field_problem(tmp_path: Path) -> None:
    directory = copy_offices(tmp_path)
    file = directory / "nv-ccsd.yaml"
    line = edit(file, "  hours_per_unit: 3 ", "  hours_per_unit: '3' ")
    (error,) = errors_in(directory)
    assert (
        str(error) == f"{file.as_posix()}:{line}:3: rule.hours_per_unit: must be a number, not the text '3'"
    )


def test_a_file_whose_name_is_not_its_key_and_a_key_used_twice(tmp_path: Path) -> None:
    directory = copy_offices(tmp_path)
    shutil.copy(directory / "nc-dpi.yaml", directory / "nc-dpi-copy.yaml")
    copy, original = (directory / "nc-dpi-copy.yaml").as_posix(), (directory / "nc-dpi.yaml").as_posix()
    errors = {(e.file, e.line, e.path, e.message) for e in errors_in(directory)}
    line = line_of(directory / "nc-dpi.yaml", "^key:")
    assert errors == {
        (copy, line, "key", "office key 'nc-dpi' must match its file name 'nc-dpi-copy'"),
        (original, line, "key", f"office key 'nc-dpi' is used twice ({copy} and {original})"),
    }


def test_development_allows_a_local_http_push_endpoint(tmp_path: Path) -> None:
    directory = copy_offices(tmp_path)
    edit(
        directory / "nv-ccsd.yaml",
        "  pull: true\n",
        "  pull: true\n  push:\n    url: http://127.0.0.1:8999/ceu\n    secret_env: NV_CCSD_PUSH_SECRET\n",
    )
    assert errors_in(directory, development=False)
    push = load_offices(directory, development=True)["nv-ccsd"].push
    assert push is not None and (push.url, push.secret_env, push.max_attempts) == (
        "http://127.0.0.1:8999/ceu",
        "NV_CCSD_PUSH_SECRET",
        8,
    )


def test_a_public_https_push_endpoint_loads_in_production(tmp_path: Path) -> None:
    directory = copy_offices(tmp_path)
    edit(
        directory / "nc-dpi.yaml",
        "  pull: true ",
        "  push: {url: 'https://records.example.gov/ceu', secret_env: NC_DPI_PUSH_SECRET, max_attempts: 3}\n"
        "  pull: true ",
    )
    push = load_offices(directory)["nc-dpi"].push
    assert push is not None and (push.url, push.max_attempts) == ("https://records.example.gov/ceu", 3)


def test_a_yml_file_is_ignored_with_a_warning_and_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    directory = copy_offices(tmp_path)
    (directory / "nc-dpi.yaml").rename(directory / "nc-dpi.yml")
    problems = validate_offices(directory)
    assert [(p.severity, p.message) for p in problems if p.file.endswith(".yml")] == [
        ("warning", "ignored: office files end in .yaml")
    ]
    assert sorted(load_offices(directory)) == ["md-bcps", "nv-ccsd"]
    (missing,) = validate_offices(tmp_path / "nowhere")
    assert missing.is_error and "not a directory" in missing.message


def test_load_offices_lists_every_error_of_every_file(tmp_path: Path) -> None:
    directory = copy_offices(tmp_path)
    edit(directory / "nc-dpi.yaml", "state: NC", "state: nc")
    edit(directory / "md-bcps.yaml", "  decimals: 0 ", "  decimals: 2 ")
    with pytest.raises(OfficesInvalid) as raised:
        load_offices(directory)
    lines = str(raised.value).splitlines()
    assert len(raised.value.errors) == 2 and len(lines) == 2
    assert lines[0].startswith(f"{(directory / 'md-bcps.yaml').as_posix()}:") and "rule.decimals:" in lines[0]
    assert lines[1].startswith(f"{(directory / 'nc-dpi.yaml').as_posix()}:5:1: state:")


# --- start-up and the command -------------------------------------------------------------------------------


def _app(tmp_path: Path, offices: Path, development: str = "0"):  # type: ignore[no-untyped-def]
    config = app_config(f"sqlite:///{tmp_path / 'unused.sqlite3'}", tmp_path)
    config.update(OFFICES_DIR=str(offices), DEVELOPMENT=development)
    return create_app(config)


def test_the_app_loads_the_offices_at_start_up(tmp_path: Path) -> None:
    app = _app(tmp_path, OFFICES)
    assert sorted(app.extensions["offices"]) == ["md-bcps", "nc-dpi", "nv-ccsd"]
    listed = app.test_cli_runner().invoke(args=["offices", "list"])
    assert listed.exit_code == 0
    rows = [line.split("\t") for line in listed.output.splitlines()]
    assert [row[0] for row in rows] == ["md-bcps", "nc-dpi", "nv-ccsd"]
    assert rows[2][2:] == [
        "contact units (CUs)",
        "3 contact hours = 1 contact unit (CU), at most 30 contact units (CUs) in all",
        "receives: pull, files generic",
    ]
    assert rows[1][4] == "receives: pull, files generic+ce_broker"
    app.extensions["db"].dispose()


def test_a_malformed_office_file_stops_start_up_with_its_file_and_line(tmp_path: Path) -> None:
    directory = copy_offices(tmp_path)
    line = edit(directory / "nv-ccsd.yaml", "cap_units: 30 ", "cap_units: thirty ")
    with pytest.raises(
        OfficesInvalid, match=re.escape(f"nv-ccsd.yaml:{line}:3: rule.cap_units: must be a number")
    ):
        _app(tmp_path, directory)


def test_offices_check_exit_codes(tmp_path: Path) -> None:
    app = _app(tmp_path, OFFICES)
    runner = app.test_cli_runner()
    directory = copy_offices(tmp_path)

    good = runner.invoke(args=["offices", "check", str(directory)])
    assert good.exit_code == 0 and f"OK {directory.as_posix()}: 3 offices" in good.output

    line = edit(directory / "md-bcps.yaml", "key: md-bcps", "key: md")
    edit(
        directory / "nv-ccsd.yaml",
        "  pull: true\n",
        "  pull: true\n  push:\n    url: http://127.0.0.1/x\n    secret_env: NV_S\n",
    )
    bad = runner.invoke(args=["offices", "check", str(directory), "--production"])
    assert bad.exit_code == 1
    assert (
        f"{(directory / 'md-bcps.yaml').as_posix()}:{line}:1: key: office key 'md' must match" in bad.output
    )
    assert "receives.push.url: the push URL must be an https:// URL" in bad.output
    assert f"INVALID {directory.as_posix()}: 2 error(s)" in bad.output
    # The same files pass in development, where a local http receiver is allowed; the key is still wrong.
    dev = runner.invoke(args=["offices", "check", str(directory), "--development"])
    assert dev.exit_code == 1 and "1 error(s)" in dev.output

    # Without a folder it checks OFFICES_DIR, and it needs no app: with these files the app cannot start.
    from_env = CliRunner().invoke(main, ["offices", "check"], env={"OFFICES_DIR": str(directory)})
    assert isinstance(from_env.exception, SystemExit) and from_env.exit_code == 1
    assert "office key 'md' must match" in from_env.output and "INVALID" in from_env.output
    app.extensions["db"].dispose()
