"""PDF and QR inspection with the real tools (poppler-utils, zbar), shared by print tests."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def pdf_pages(pdf: bytes) -> int:
    out = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout
    for line in out.decode().splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise AssertionError("pdfinfo printed no page count")


def pdf_fonts(pdf: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(pdf)
        return subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout.decode()


def decode_qr_png(png_path: Path) -> list[str]:
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(png_path)],
        capture_output=True, check=False,
    )
    return [line for line in result.stdout.decode().splitlines() if line.strip()]


def decode_qr_pdf(pdf: bytes, *, page: int = 1, dpi: int = 150) -> list[str]:
    """Rasterise one page with pdftoppm and decode every QR code on it with zbarimg."""
    with tempfile.TemporaryDirectory() as tmp:
        pdf_path = Path(tmp) / "doc.pdf"
        pdf_path.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
             str(pdf_path), str(Path(tmp) / "page")],
            check=True, capture_output=True,
        )
        codes: list[str] = []
        for png in sorted(Path(tmp).glob("page*.png")):
            codes.extend(decode_qr_png(png))
        return codes
