"""The PDF certificate: every fact is on the page as text, any name prints, the QR code scans, one page."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import unicodedata
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
import zxingcpp
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from lti_tool.records import certificate
from lti_tool.records.certificate import CertificateFacts, render_certificate, unsupported_characters

NAMES = [
    "Zoë Ångström-Núñez",
    "Ελένη Παπαδοπούλου",
    "Дмитрий Иванов",
    "محمد الأحمد",
    "דוד כהן",
    "प्रिया शर्मा",
    "王小明",
    "山田 太郎",
    "김민지",
]
URL = "https://ceu.example.edu/verify/rec_01JQ8Z3K5V7W9X1Y2Z3A4B5C6D"
PAGE_W_PT, PAGE_H_PT = 792.0, 612.0  # US Letter, landscape


def facts(**changes: Any) -> CertificateFacts:
    base = CertificateFacts(
        provider_name="Friday Institute for Educational Innovation",
        course_title="Supporting Executive Function in the Classroom",
        award_title="Executive Function Specialist",
        kind="stack",
        credentials=(
            ("Understanding Executive Function", date(2025, 2, 3)),
            ("Working Memory Strategies", date(2025, 2, 17)),
            ("Cognitive Flexibility in Practice", date(2025, 3, 4)),
            ("Inhibitory Control and Self-Regulation", date(2025, 3, 18)),
            ("Planning and Organisation Routines", date(2025, 3, 31)),
        ),
        contact_hours=Decimal("15"),
        ceus=Decimal("1.5"),
        issue_date=date(2025, 4, 2),
        record_id="rec_01JQ8Z3K5V7W9X1Y2Z3A4B5C6D",
        verification_url=URL,
        educator_name="Zoë Ångström-Núñez",
        office_lines=(("North Carolina DPI", Decimal("1.5"), "renewal credits"),),
    )
    return replace(base, **changes)


def page_text(pdf: bytes) -> str:
    """The page's text with runs of whitespace (line breaks from wrapping) made single spaces.

    fpdf2 maps a shaped cluster of several glyphs (a Devanagari conjunct with its vowel sign) to its text
    through one glyph and leaves the others unmapped; pypdf gives those as their raw code, a control
    character, which is dropped here like a PDF viewer drops it when copying.
    """
    reader = PdfReader(io.BytesIO(pdf))
    raw = reader.pages[0].extract_text()
    printable = "".join(ch for ch in raw if ch.isspace() or unicodedata.category(ch) != "Cc")
    return " ".join(printable.split())


def in_reading_order(name: str) -> str:
    # Right-to-left names are laid out with their first word rightmost; text extraction reads the line
    # left to right, so it meets the words last to first (each word's letters come back in logical order).
    rtl = any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in name)
    return " ".join(reversed(name.split())) if rtl else name


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return {name: render_certificate(facts(educator_name=name)) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_every_fact_is_on_the_page(rendered: dict[str, bytes], name: str) -> None:
    text = page_text(rendered[name])
    assert in_reading_order(name) in text
    for expected in (
        "Friday Institute for Educational Innovation",
        "Supporting Executive Function in the Classroom",
        "Executive Function Specialist",
        "micro-credential stack",
        "Contact hours: 15",
        "CEUs: 1.5",
        "Issued April 2, 2025",
        "rec_01JQ8Z3K5V7W9X1Y2Z3A4B5C6D",
        URL,
        "North Carolina DPI: 1.5 renewal credits",
    ):
        assert expected in text
    for title, _ in facts().credentials:
        assert title in text
    assert "earned February 3, 2025" in text and "earned March 31, 2025" in text


def test_right_to_left_names_really_run_right_to_left(rendered: dict[str, bytes]) -> None:
    # Guards the helper above: were the RTL line laid out left to right, the logical order would appear.
    for name in ("محمد الأحمد", "דוד כהן"):
        text = page_text(rendered[name])
        assert " ".join(reversed(name.split())) in text
        assert name not in text


@pytest.mark.parametrize("name", NAMES)
def test_every_character_of_the_names_is_in_a_shipped_font(name: str) -> None:
    fonts = sorted(Path(certificate.__file__).with_name("fonts").glob("*.ttf"))
    cmaps = [set(TTFont(path, lazy=True).getBestCmap()) for path in fonts]
    for ch in name.replace(" ", ""):
        assert any(ord(ch) in cmap for cmap in cmaps), f"no shipped font has {ch!r} (U+{ord(ch):04X})"
    assert unsupported_characters(name) == set()


def test_a_script_without_a_shipped_font_is_reported() -> None:
    # Tamil is not shipped: the records page can warn the educator before they download.
    assert unsupported_characters("தமிழ் Zoë") == set("தமிழ்")


@pytest.mark.parametrize("name", NAMES)
def test_the_embedded_fonts_map_every_character_of_the_name(rendered: dict[str, bytes], name: str) -> None:
    # A glyph the font lacks would be written as .notdef (or dropped) and would map to no character here.
    mapped = embedded_unicode(rendered[name])
    missing = {ch for ch in name.replace(" ", "") if ch not in mapped}
    assert not missing, f"not in the PDF's embedded fonts: {missing}"


def embedded_unicode(pdf: bytes) -> set[str]:
    """Every character that some glyph of the page's embedded fonts stands for (their ToUnicode maps)."""
    reader = PdfReader(io.BytesIO(pdf))
    chars: set[str] = set()
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descendant = font["/DescendantFonts"][0].get_object()
        assert "/FontFile2" in descendant["/FontDescriptor"].get_object(), "font not embedded"
        cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
        for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
            for _, target in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                chars.update(bytes.fromhex(target).decode("utf-16-be"))
        for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
            for low, high, start in re.findall(r"<(\w+)>\s*<(\w+)>\s*<(\w+)>", block):
                first = int(start, 16)
                chars.update(chr(first + i) for i in range(int(high, 16) - int(low, 16) + 1))
    return chars


def test_the_qr_code_scans_to_the_verification_url() -> None:
    url = "https://ceu.example.edu/verify/rec_01JQ8Z3K5V7W9X1Y2Z3A4B5C6D?lang=en&v=2"
    pdf = render_certificate(facts(verification_url=url))
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=3).to_pil()
    found = zxingcpp.read_barcodes(image)
    assert [(code.format, code.text) for code in found] == [(zxingcpp.BarcodeFormat.QRCode, url)]


LATIN_200 = ("Maria Fernanda de los Ángeles Guadalupe Rodríguez-Santamaría " * 4)[:200].strip()
CJK_200 = ("王小明" * 67)[:200]  # no spaces: wraps between characters


@pytest.mark.parametrize("name", [LATIN_200, CJK_200], ids=["latin", "cjk"])
def test_a_fifteen_credential_stack_and_a_200_character_name_fit_on_one_page(name: str) -> None:
    credentials = tuple(
        (f"Executive Function {i}: planning and organising classroom routines", date(2025, 1, 1 + i))
        for i in range(15)
    )
    assert len(name) >= 199
    pdf = render_certificate(
        facts(credentials=credentials, educator_name=name, state="Nevada", licence_number="NV-00012345")
    )
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = page_text(pdf)
    assert name.replace(" ", "") in text.replace(" ", "")  # wrapped, not cut
    assert "…" not in text
    for title, earned in credentials:
        assert title in text
        assert f"earned {earned:%B} {earned.day}, {earned.year}" in text
    assert "Licensed in Nevada · licence number NV-00012345" in text
    runs = assert_text_stays_inside_the_frame(reader)
    # The body ends above the footer: the lowest credential line is higher on the page than the hours.
    lowest_credential = min(y for _, y, text in runs if "earned" in text)
    (hours,) = [y for _, y, text in runs if text.startswith("Contact hours")]
    assert lowest_credential > hours + 12


def test_an_absurdly_long_name_is_cut_short_rather_than_overflowing() -> None:
    name = "Alexandrina " * 200
    reader = PdfReader(io.BytesIO(render_certificate(facts(educator_name=name, award_title="Award " * 100))))
    assert len(reader.pages) == 1
    assert "…" in page_text(render_certificate(facts(educator_name=name)))
    assert_text_stays_inside_the_frame(reader)


def assert_text_stays_inside_the_frame(reader: PdfReader) -> list[tuple[float, float, str]]:
    """Every text run starts inside the inner border (11 mm from each edge); returns the runs (x, y, text)."""
    inner = 11 / 25.4 * 72
    runs: list[tuple[float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            runs.append((tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5], text))

    reader.pages[0].extract_text(visitor_text=visit)
    assert runs
    for x, y, text in runs:
        assert inner <= x <= PAGE_W_PT - inner, (x, y, text)
        assert inner <= y <= PAGE_H_PT - inner, (x, y, text)
    return runs


def test_licence_details_are_printed_only_when_given() -> None:
    assert "licence number" not in page_text(render_certificate(facts()))
    assert "licence number" not in page_text(render_certificate(facts(state="North Carolina")))
    with_licence = page_text(render_certificate(facts(state="North Carolina", licence_number="1234567")))
    assert "Licensed in North Carolina · licence number 1234567" in with_licence


def test_a_course_award_says_so() -> None:
    text = page_text(
        render_certificate(facts(kind="course_award", award_title="Course Award", credentials=()))
    )
    assert "has earned the course award Course Award" in text
    assert "micro-credential stack" not in text and "Embedded" not in text


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        facts(kind="badge")


def test_same_facts_same_bytes_and_the_metadata_names_the_provider() -> None:
    first, second = render_certificate(facts()), render_certificate(facts())
    assert first == second
    later = render_certificate(facts(issue_date=date(2025, 5, 1)))
    assert later != first
    meta = PdfReader(io.BytesIO(first)).metadata
    assert meta is not None
    assert meta.author == "Friday Institute for Educational Innovation"
    assert meta.title == "Certificate: Executive Function Specialist"
    assert meta.subject is not None and "rec_01JQ8Z3K5V7W9X1Y2Z3A4B5C6D" in meta.subject
    assert meta.creation_date is not None and meta.creation_date.date() == date(2025, 4, 2)


def test_same_bytes_in_another_process_with_another_hash_seed() -> None:
    # Caching a certificate by its facts only works if nothing (set order, font subset tags) varies per run.
    name = "محمد 王小明 Zoë प्रिया"
    script = (
        "import sys\n"
        "from tests.unit.records.test_certificate import facts\n"
        "from lti_tool.records.certificate import render_certificate\n"
        f"sys.stdout.buffer.write(render_certificate(facts(educator_name={name!r})))\n"
    )
    root = Path(__file__).parents[3]
    other = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env={"PYTHONHASHSEED": "12345", "PYTHONPATH": str(root)},
        capture_output=True,
        check=True,
    ).stdout
    assert other == render_certificate(facts(educator_name=name))
