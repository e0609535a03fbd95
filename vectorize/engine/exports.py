"""The same SVG as PDF, EPS or PNG, made on request from the stored SVG (no re-tracing)."""

import cairosvg

from vectorize.engine.fidelity import render_png

FORMATS = {
    "svg": ("image/svg+xml", "svg"),
    "pdf": ("application/pdf", "pdf"),
    "eps": ("application/postscript", "eps"),
    "png": ("image/png", "png"),
}


def export(svg: str, fmt: str, *, width: int, height: int) -> bytes:
    """`svg` converted to `fmt` (svg, pdf, eps or png) at its own size."""
    if fmt == "svg":
        return svg.encode()
    if fmt == "png":
        return render_png(svg, width, height)
    if fmt == "pdf":
        return cairosvg.svg2pdf(bytestring=svg.encode(), unsafe=False)
    if fmt == "eps":
        return cairosvg.svg2eps(bytestring=svg.encode(), unsafe=False)
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
