"""A PDF copy of a signed consent: the document text and the signature manifestation, in plain PDF 1.4.

Written by hand (Helvetica, Latin-1 text, wrapped lines, as many pages as needed) so that the copy needs no
rendering dependency; characters outside Latin-1 are shown as '?'.
"""

import textwrap

from recruitment.models import Consent

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN, FONT_SIZE, LEADING = 56, 10, 14
WRAP = 95
LINES_PER_PAGE = (PAGE_HEIGHT - 2 * MARGIN) // LEADING


def _escape(line: str) -> bytes:
    data = line.encode("latin-1", errors="replace")
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _wrapped(text: str) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, WRAP) or [""])
    return lines


def pdf_from_lines(lines: list[str], *, title: str) -> bytes:
    """A minimal valid PDF: catalog, page tree, one font, one content stream per page, and an xref table."""
    pages = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    objects: list[bytes] = []
    font_id, pages_id = 3, 2
    page_ids = []
    for page_lines in pages:
        content = b"BT /F1 %d Tf %d TL %d %d Td\n" % (FONT_SIZE, LEADING, MARGIN, PAGE_HEIGHT - MARGIN)
        content += b"".join(b"(" + _escape(line) + b") Tj T*\n" for line in page_lines) + b"ET"
        content_id = 4 + len(objects)
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        page_ids.append(4 + len(objects))
        objects.append(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 %d 0 R >> >> "
            b"/Contents %d 0 R >>" % (pages_id, PAGE_WIDTH, PAGE_HEIGHT, font_id, content_id)
        )
    info_id = 4 + len(objects)
    objects.append(b"<< /Title (" + _escape(title) + b") /Producer (Stratified recruitment) >>")
    kids = b" ".join(b"%d 0 R" % pid for pid in page_ids)
    head = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(page_ids),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate([*head, *objects], start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(offsets) + 1,
        info_id,
        xref,
    )
    return bytes(out)


def consent_pdf(consent: Consent) -> bytes:
    """The patient's copy: what was signed, by whom, when, meaning what, and the withdrawal if any."""
    document = consent.document
    signature = [
        "Electronic signature",
        f"Signed by: {consent.typed_name}",
        f"Signed at: {consent.signed_at:%Y-%m-%d %H:%M:%S %Z}",
        f"Meaning: {consent.meaning}",
        f"Document: {document.title}, version {consent.document_version} ({document.language})",
        f"Document SHA-256: {consent.document_hash}",
    ]
    if consent.trial_id and consent.trial:
        signature.append(f"Trial: {consent.trial.nct_id} {consent.trial.brief_title}")
    if consent.withdrawn_at:
        signature.append(f"Withdrawn at: {consent.withdrawn_at:%Y-%m-%d %H:%M:%S %Z}")
    lines = [
        document.title,
        f"Version {document.version}",
        "",
        *_wrapped(document.body),
        "",
        *_wrapped("\n".join(signature)),
    ]
    return pdf_from_lines(lines, title=f"{document.title} v{document.version}")
