"""A small PDF writer for the cockpit report: lines of text, Chinese included, on A4 pages.

Chinese text uses the PDF standard CJK font STSong-Light (Adobe-GB1, encoding UniGB-UCS2-H):
every PDF reader carries it or a substitute, so no font file is embedded and no library is
needed. Text is written as UCS-2 hex strings; characters outside the Basic Multilingual Plane
are replaced by "?".
"""

from __future__ import annotations

from collections.abc import Iterable

PAGE_W, PAGE_H = 595, 842  # A4 in points
MARGIN = 50
LEADING = 16
LINES_PER_PAGE = (PAGE_H - 2 * MARGIN) // LEADING


def _hex(text: str) -> str:
    return "".join(f"{ord(ch):04X}" if ord(ch) <= 0xFFFF else "003F" for ch in text)


def _page_stream(lines: list[tuple[str, int]]) -> bytes:
    out = ["BT", f"{MARGIN} {PAGE_H - MARGIN} Td", f"{LEADING} TL"]
    for text, size in lines:
        out.append(f"/F1 {size} Tf <{_hex(text)}> Tj T*")
    out.append("ET")
    return "\n".join(out).encode("ascii")


def text_pdf(lines: Iterable[tuple[str, int]]) -> bytes:
    """A PDF of ``(text, font size)`` lines, paginated."""
    all_lines = list(lines) or [("", 10)]
    pages = [all_lines[i : i + LINES_PER_PAGE] for i in range(0, len(all_lines), LINES_PER_PAGE)]
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled below
    pages_obj = add(b"")
    font = add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [" + str(len(objects) + 2).encode() + b" 0 R] >>"
    )
    add(
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> "
        b"/FontDescriptor " + str(len(objects) + 2).encode() + b" 0 R /DW 1000 >>"
    )
    add(
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
        b"/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 "
        b"/CapHeight 880 /StemV 93 >>"
    )
    kids = []
    for page in pages:
        stream = _page_stream(page)
        content = add(
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"
        )
        kids.append(
            add(
                f"<< /Type /Page /Parent {pages_obj} 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] "
                f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {content} 0 R >>".encode()
            )
        )
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_obj} 0 R >>".encode()
    objects[pages_obj - 1] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    ).encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)
