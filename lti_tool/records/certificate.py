"""The PDF certificate of a CEU record: one landscape page from plain facts, no database and no Flask.

Fonts ship in ``fonts/`` beside this module (Noto Sans and its Arabic, Hebrew and Devanagari siblings, Droid
Sans Fallback for Chinese, Japanese and Korean) so that any educator's name prints without reading system
fonts or fetching anything. fpdf2 picks a fallback font glyph by glyph and shapes the text with HarfBuzz
(joining Arabic, Devanagari conjuncts, right-to-left lines). The same facts give the same bytes: the PDF's
creation date is the issue date and its file id is a hash of its content.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import segno
from fontTools.ttLib import TTFont
from fpdf import FPDF

log = logging.getLogger(__name__)

FONT_DIR = Path(__file__).with_name("fonts")
MAIN_FONT = ("noto", "NotoSans-Regular.ttf", "NotoSans-Bold.ttf")
# Order matters only where two fonts cover the same character; these scripts do not overlap.
FALLBACK_FONTS = (
    ("arabic", "NotoSansArabic-Regular.ttf"),
    ("hebrew", "NotoSansHebrew-Regular.ttf"),
    ("devanagari", "NotoSansDevanagari-Regular.ttf"),
    ("cjk", "DroidSansFallback.ttf"),
)
FONT_FILES = (MAIN_FONT[1], MAIN_FONT[2], *(file for _, file in FALLBACK_FONTS))

Kind = Literal["stack", "course_award"]

# US Letter, landscape, in millimetres: the educators and offices are American.
PAGE_W, PAGE_H = 279.4, 215.9
MARGIN = 20.0
CONTENT_W = PAGE_W - 2 * MARGIN
BODY_TOP = 19.0
FOOTER_BOTTOM = PAGE_H - 17.0
QR_SIDE = 32.0
FOOTER_GAP = 5.0
PT = 0.3528  # millimetres per point
ELLIPSIS = "…"
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class CertificateFacts:
    """What one certificate says; the caller has already decided every value."""

    provider_name: str
    course_title: str
    award_title: str
    kind: Kind
    credentials: tuple[tuple[str, date], ...]
    contact_hours: Decimal
    ceus: Decimal
    issue_date: date
    record_id: str
    verification_url: str
    educator_name: str
    # Printed only when both are given: the educator asked for them on their certificate.
    state: str | None = None
    licence_number: str | None = None
    # (office name, amount, unit), e.g. ("North Carolina DPI", Decimal("1.0"), "renewal credit").
    office_lines: tuple[tuple[str, Decimal, str], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("stack", "course_award"):
            raise ValueError(f"kind must be 'stack' or 'course_award', not {self.kind!r}")


@lru_cache(maxsize=32)
def render_certificate(facts: CertificateFacts) -> bytes:
    """One landscape page; long names and titles wrap or shrink, and the page never overflows.

    The same facts give the same bytes, so the last few certificates are kept (an educator downloading
    again, or an office opening the link, does not wait for the fonts again)."""
    text = _all_text(facts)
    missing = unsupported_characters(text)
    if missing:
        # The page still renders (those characters are left out); the records page should have warned.
        log.warning("certificate %s: no shipped font has %s", facts.record_id, "".join(sorted(missing)))
    pdf = _new_document(facts, _fallbacks_for(text))
    footer_h = _footer(pdf, facts, draw=False)
    body_bottom = FOOTER_BOTTOM - footer_h - FOOTER_GAP
    # Shrink everything in the body together until it fits above the footer; the smallest scale is
    # reached only by extreme input, whose parts are then cut short with an ellipsis by _fitted.
    scale = 1.0
    while scale > 0.55 and BODY_TOP + _body(pdf, facts, scale, draw=False) > body_bottom:
        scale = round(scale - 0.05, 2)
    _frame(pdf)
    spare = body_bottom - BODY_TOP - _body(pdf, facts, scale, draw=False)
    # A short body sits in the middle of the space above the footer rather than under the top edge.
    _body(pdf, facts, scale, draw=True, top=BODY_TOP + max(0.0, spare / 2))
    _footer(pdf, facts, draw=True)
    return bytes(pdf.output())


def unsupported_characters(text: str) -> set[str]:
    """Characters of ``text`` that no shipped font has (so they cannot print); whitespace never counts."""
    covered = _covered_codepoints()
    return {ch for ch in text if not ch.isspace() and ord(ch) not in covered and not _invisible(ch)}


@cache
def _font_codepoints(file: str) -> frozenset[int]:
    font = TTFont(FONT_DIR / file, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


@cache
def _covered_codepoints() -> frozenset[int]:
    return frozenset().union(*(_font_codepoints(file) for file in FONT_FILES))


def _fallbacks_for(text: str) -> list[tuple[str, str]]:
    """The fallback fonts this text needs: those having a character the main font lacks. Parsing a font
    costs more than the rest of the page (Droid Sans Fallback is 3.4 MB), so a certificate in Latin script
    loads none of them."""
    main = _font_codepoints(MAIN_FONT[1])
    wanted = {ord(ch) for ch in text if ord(ch) not in main}
    return [(name, file) for name, file in FALLBACK_FONTS if wanted & _font_codepoints(file)]


def _invisible(ch: str) -> bool:
    # Joiners and direction marks steer shaping and print nothing.
    return ch in "\u200c\u200d\u200e\u200f\u2066\u2067\u2068\u2069"


def _all_text(facts: CertificateFacts) -> str:
    parts = [facts.provider_name, facts.course_title, facts.award_title, facts.educator_name]
    parts += [title for title, _ in facts.credentials]
    parts += [office for office, _, _ in facts.office_lines]
    parts += [unit for _, _, unit in facts.office_lines]
    parts += [facts.state or "", facts.licence_number or ""]
    return " ".join(parts)


def _new_document(facts: CertificateFacts, fallbacks: list[tuple[str, str]]) -> FPDF:
    pdf = FPDF(orientation="L", unit="mm", format="letter")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, BODY_TOP, MARGIN)
    family, regular, bold = MAIN_FONT
    pdf.add_font(family, "", str(FONT_DIR / regular))
    pdf.add_font(family, "B", str(FONT_DIR / bold))
    for name, file in fallbacks:
        pdf.add_font(name, "", str(FONT_DIR / file))
    if fallbacks:
        # exact_match=False: bold text falls back to the regular face of another script, not to nothing.
        pdf.set_fallback_fonts([name for name, _ in fallbacks], exact_match=False)
    pdf.set_text_shaping(True)
    award = "Stack" if facts.kind == "stack" else "Course award"
    pdf.set_title(f"Certificate: {facts.award_title}")
    pdf.set_subject(
        f"{award} certificate for {facts.educator_name}, {facts.course_title}, record {facts.record_id}"
    )
    pdf.set_author(facts.provider_name)
    pdf.set_creator("Micro-credential Stacks")
    pdf.set_lang("en")
    issued = facts.issue_date
    pdf.set_creation_date(datetime(issued.year, issued.month, issued.day, tzinfo=UTC))
    pdf.add_page()
    return pdf


def _frame(pdf: FPDF) -> None:
    pdf.set_draw_color(31, 58, 96)
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, PAGE_W - 16, PAGE_H - 16)
    pdf.set_line_width(0.3)
    pdf.rect(11, 11, PAGE_W - 22, PAGE_H - 22)
    pdf.set_draw_color(0, 0, 0)


def _body(pdf: FPDF, facts: CertificateFacts, scale: float, *, draw: bool, top: float = BODY_TOP) -> float:
    """Lays out (or only measures) everything above the footer; returns its height."""
    y = top
    blue, ink, grey = (31, 58, 96), (20, 20, 20), (85, 85, 85)

    def line(
        text: str,
        size: float,
        *,
        style: str = "",
        color: tuple[int, int, int] = ink,
        max_lines: int = 1,
        min_size: float = 8.0,
        gap: float = 0.0,
        x: float = MARGIN,
        width: float = CONTENT_W,
        align: str = "C",
    ) -> None:
        nonlocal y
        y += gap * scale
        used = _fitted(pdf, text, x, y, width, size * scale, min_size, style, color, max_lines, align, draw)
        y += used

    line(facts.provider_name, 13, style="B", color=blue, max_lines=2)
    line("Certificate of Continuing Education", 25, style="B", color=blue, gap=3)
    line("This certifies that", 11, color=grey, gap=4)
    line(facts.educator_name, 24, max_lines=3, min_size=10, gap=1)
    if facts.state and facts.licence_number:
        line(
            f"Licensed in {facts.state} · licence number {facts.licence_number}", 10, color=grey, max_lines=2
        )
    earned = (
        "has completed the micro-credential stack" if facts.kind == "stack" else "has earned the course award"
    )
    line(earned, 11, color=grey, gap=3)
    line(facts.award_title, 17, style="B", color=blue, max_lines=2, min_size=9, gap=1)
    line(f"in the course {facts.course_title}", 11, max_lines=2, gap=1)
    if facts.credentials:
        noun = "credential" if len(facts.credentials) == 1 else "credentials"
        line(f"Embedded micro-{noun}", 10, style="B", color=blue, gap=5)
        y += 1.5 * scale
        y += _credentials(pdf, facts.credentials, y, scale, draw)
    return y - top


def _credentials(
    pdf: FPDF, credentials: tuple[tuple[str, date], ...], top: float, scale: float, draw: bool
) -> float:
    """One column up to five credentials, two up to twelve, three beyond; returns the height used."""
    columns = 1 if len(credentials) <= 5 else 2 if len(credentials) <= 12 else 3
    gutter = 6.0
    width = CONTENT_W * (0.8 if columns == 1 else 1.0)
    left = MARGIN + (CONTENT_W - width) / 2
    col_w = (width - gutter * (columns - 1)) / columns
    per_column = -(-len(credentials) // columns)
    size = 9.5 * scale
    tallest = 0.0
    for c in range(columns):
        y = top
        x = left + c * (col_w + gutter)
        for title, earned in credentials[c * per_column : (c + 1) * per_column]:
            align = "C" if columns == 1 else "L"
            y += _fitted(
                pdf,
                f"{title} · earned {_date(earned)}",
                x,
                y,
                col_w,
                size,
                6.5,
                "",
                (20, 20, 20),
                2,
                align,
                draw,
            )
            y += 0.8 * scale
        tallest = max(tallest, y - top)
    return tallest


def _footer(pdf: FPDF, facts: CertificateFacts, *, draw: bool) -> float:
    """Hours, CEUs, offices, date and record id on the left; the QR code and its URL on the right."""
    text_w = CONTENT_W - QR_SIDE - 10
    lines: list[tuple[str, float, str, tuple[int, int, int]]] = [
        (
            f"Contact hours: {_amount(facts.contact_hours)}    CEUs: {_amount(facts.ceus)}",
            13,
            "B",
            (31, 58, 96),
        ),
    ]
    if facts.office_lines:
        lines.append(("Recognised by", 9, "B", (85, 85, 85)))
        lines += [
            (f"{office}: {_amount(amount)} {unit}", 9.5, "", (20, 20, 20))
            for office, amount, unit in facts.office_lines
        ]
    lines.append((f"Issued {_date(facts.issue_date)}    Record ID: {facts.record_id}", 9.5, "", (20, 20, 20)))
    lines.append((f"Verify at {facts.verification_url}", 9.5, "", (31, 58, 96)))
    text_h = sum(_fitted(pdf, t, 0, 0, text_w, s, 5.5, st, c, 1, "L", False) + 0.8 for t, s, st, c in lines)
    height = max(text_h, QR_SIDE)
    if not draw:
        return height
    top = FOOTER_BOTTOM - height
    pdf.set_draw_color(180, 180, 180)
    pdf.set_line_width(0.2)
    pdf.line(MARGIN, top - FOOTER_GAP / 2, PAGE_W - MARGIN, top - FOOTER_GAP / 2)
    y = top + (height - text_h) / 2
    for text, size, style, color in lines:
        used = _fitted(pdf, text, MARGIN, y, text_w, size, 5.5, style, color, 1, "L", True)
        y += used + 0.8
    # The last line is the URL: make it a link too.
    pdf.link(MARGIN, y - 0.8 - used, text_w, used, facts.verification_url)
    qr_x = PAGE_W - MARGIN - QR_SIDE
    qr_y = top + (height - QR_SIDE) / 2
    _qr(pdf, facts.verification_url, qr_x, qr_y, QR_SIDE)
    pdf.link(qr_x, qr_y, QR_SIDE, QR_SIDE, facts.verification_url)
    return height


def _qr(pdf: FPDF, url: str, x: float, y: float, side: float) -> None:
    """The QR code as filled rectangles, one per run of dark modules in a row, in a 4-module quiet zone."""
    qr = segno.make(url, error="m", micro=False)
    matrix = qr.matrix
    module = side / (len(matrix) + 8)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, side, side, style="F")
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(matrix):
        for start, length in _dark_runs(row):
            pdf.rect(
                x + (4 + start) * module, y + (4 + row_index) * module, length * module, module, style="F"
            )


def _dark_runs(row: Iterable[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    start = None
    cells = list(row)
    for i, dark in enumerate([*cells, 0]):
        if dark and start is None:
            start = i
        elif not dark and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def _fitted(
    pdf: FPDF,
    text: str,
    x: float,
    y: float,
    width: float,
    size: float,
    min_size: float,
    style: str,
    color: tuple[int, int, int],
    max_lines: int,
    align: str,
    draw: bool,
) -> float:
    """Writes ``text`` in at most ``max_lines`` lines: shrinks it towards ``min_size`` first, then cuts it
    short with an ellipsis. Returns the height used."""
    family = "noto"
    size = max(size, min_size)
    lines = _wrap(pdf, text, width, family, style, size)
    while len(lines) > max_lines and size > min_size:
        size = max(min_size, size - 0.5)
        lines = _wrap(pdf, text, width, family, style, size)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1].rstrip()
        while last and len(_wrap(pdf, last + ELLIPSIS, width, family, style, size)) > 1:
            last = last[:-1].rstrip()
        lines[-1] = last + ELLIPSIS
    line_h = size * PT * 1.3
    if draw:
        pdf.set_font(family, style, size)
        pdf.set_text_color(*color)
        pdf.set_xy(x, y)
        pdf.multi_cell(width, line_h, "\n".join(lines), align=align)
    return line_h * len(lines)


def _wrap(pdf: FPDF, text: str, width: float, family: str, style: str, size: float) -> list[str]:
    pdf.set_font(family, style, size)
    lines = pdf.multi_cell(width, size * PT * 1.3, text, dry_run=True, output="LINES")
    assert isinstance(lines, list)  # output="LINES" alone gives the list
    return [str(line) for line in lines]


def _amount(value: Decimal) -> str:
    # Decimal("10.0") stays "10.0" (the caller chose that precision); only exponents are written out.
    return format(value, "f")


def _date(value: date) -> str:
    return f"{MONTHS[value.month - 1]} {value.day}, {value.year}"
