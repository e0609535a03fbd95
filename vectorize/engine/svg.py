"""Rewrites vtracer's SVG: viewBox, no transforms, rounded and compact path data."""

import re
from dataclasses import dataclass

_PATH_ELEMENT = re.compile(r"<path\b([^>]*)/>")
_ATTRIBUTE = re.compile(r'([a-zA-Z_:-]+)="([^"]*)"')
_TRANSLATE = re.compile(r"translate\(\s*(-?[\d.eE+-]+)[\s,]+(-?[\d.eE+-]+)\s*\)")
_PATH_TOKEN = re.compile(r"[A-Za-z]|-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_FULL_HEX = re.compile(r"#([0-9a-fA-F]{6})")


@dataclass(frozen=True)
class CleanSvg:
    text: str
    path_count: int
    node_count: int
    colors: tuple[str, ...]


def format_number(value: float, precision: int) -> str:
    """Shortest text for `value` rounded to `precision` decimals: 0.50 -> .5, -0.0 -> 0."""
    text = f"{round(value, precision):.{precision}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        return "0"
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def _short_color(color: str) -> str:
    match = _FULL_HEX.fullmatch(color)
    if not match:
        return color
    hex_digits = match.group(1).lower()
    if hex_digits[0::2] == hex_digits[1::2]:
        return "#" + hex_digits[0::2]
    return "#" + hex_digits


def rewrite_path_data(data: str, dx: float, dy: float, precision: int) -> tuple[str, int]:
    """Move absolute coordinates by (dx, dy), round them and write them compactly.

    vtracer writes only absolute M, L, C and Z commands, each followed by x y pairs; a relative
    command (lower case) is left unshifted. Returns the new data and its number of points.
    """
    out: list[str] = []
    command = ""
    index = 0  # position in the current command's arguments: even = x, odd = y
    points = 0
    previous_is_number = False
    for token in _PATH_TOKEN.findall(data):
        if token.isalpha():
            command, index = token, 0
            out.append(token)
            previous_is_number = False
            continue
        value = float(token)
        if command.isupper():
            value += dx if index % 2 == 0 else dy
        text = format_number(value, precision)
        if index % 2 == 1:
            points += 1
        index += 1
        # A separator is needed only where the next number could be read as part of the last:
        # "-" starts a new number, and so does "." after a number that already has one.
        if previous_is_number and not (
            text.startswith("-") or (text.startswith(".") and "." in out[-1])
        ):
            out.append(" ")
        out.append(text)
        previous_is_number = True
    return "".join(out), points


def clean_svg(raw: str, width: int, height: int, precision: int) -> CleanSvg:
    """Turn vtracer's output into a compact SVG with a viewBox and no transforms."""
    paths = []
    colors: dict[str, None] = {}
    nodes = 0
    for match in _PATH_ELEMENT.finditer(raw):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        dx = dy = 0.0
        translate = _TRANSLATE.search(attributes.get("transform", ""))
        if translate:
            dx, dy = float(translate.group(1)), float(translate.group(2))
        data, points = rewrite_path_data(attributes.get("d", ""), dx, dy, precision)
        if points == 0:
            continue
        nodes += points
        fill = _short_color(attributes.get("fill", "#000"))
        colors[fill] = None
        paths.append(f'<path d="{data}" fill="{fill}"/>')
    body = "\n".join(paths)
    text = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">\n{body}\n</svg>\n'
    )
    return CleanSvg(text=text, path_count=len(paths), node_count=nodes, colors=tuple(colors))
