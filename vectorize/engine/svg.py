"""Rewrites vtracer's SVG: viewBox, no transforms, rounded and compact path data."""

import re
from dataclasses import dataclass
from functools import lru_cache

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


# A traced image's numbers repeat (a 512 x 512 photo: about 600 distinct among 120,000 written,
# as each is written both absolute and relative to choose the shorter): each is formatted once.
@lru_cache(maxsize=1 << 14)
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


_ARITY = {"M": 2, "L": 2, "C": 6, "Z": 0}


def _parse_absolute(
    data: str, dx: float, dy: float, precision: int, scale: tuple[float, float] = (1.0, 1.0)
) -> list[tuple[str, list]]:
    """vtracer's path data as (command, rounded absolute numbers) pairs, moved by (dx, dy), then
    scaled by `scale` (x, y): a copy traced smaller is written at the image's own size.

    vtracer writes absolute M, L, C and Z commands only; implicit repeats are split out.
    """
    commands: list[tuple[str, list]] = []
    command, numbers = "", []
    for token in _PATH_TOKEN.findall(data):
        if token.isalpha():
            command = token.upper()
            if command not in _ARITY:
                raise ValueError(f"unexpected path command {token!r} from the tracer")
            if command == "Z":
                commands.append(("Z", []))
            continue
        axis = len(numbers) % 2
        numbers.append(round((float(token) + (dy if axis else dx)) * scale[axis], precision))
        if len(numbers) == _ARITY[command]:
            commands.append((command, numbers))
            numbers = []
            if command == "M":
                command = "L"  # pairs after a moveto are linetos
    return commands


class _PathWriter:
    """Writes commands with the fewest characters: relative or absolute, h/v for axis-aligned
    lines, command letters only where they change, separators only where needed."""

    def __init__(self, precision: int):
        self.precision = precision
        self.parts: list[str] = []
        self.last_command = ""
        self.last_number = ""

    def emit(self, command: str, texts: list[str]) -> None:
        # After a moveto, further pairs are linetos: "M1 2L3 4" can be "M1 2 3 4".
        implicit = {"M": "L", "m": "l"}.get(self.last_command, self.last_command)
        if command != implicit or command in "Zz":
            self.parts.append(command)
            self.last_number = ""
        for text in texts:
            if self.last_number and not (
                text.startswith("-") or (text.startswith(".") and "." in self.last_number)
            ):
                self.parts.append(" ")
            self.parts.append(text)
            self.last_number = text
        self.last_command = command

    def text(self) -> str:
        return "".join(self.parts)


def _shorter(*candidates: tuple[str, list[float]], precision: int) -> tuple[str, list[str]]:
    """The candidate (command, numbers) whose numbers take the fewest characters, as text."""
    best = None
    for command, numbers in candidates:
        texts = [format_number(value, precision) for value in numbers]
        length = sum(map(len, texts))
        if best is None or length < best[0]:
            best = (length, command, texts)
    return best[1], best[2]


def rewrite_path_data(
    data: str, dx: float, dy: float, precision: int, scale: tuple[float, float] = (1.0, 1.0)
) -> tuple[str, int]:
    """Move vtracer's path data by (dx, dy), scale it, round it to `precision` decimals and
    write it in as few characters as the SVG path grammar allows. Returns the data and its
    number of points.
    """
    writer = _PathWriter(precision)
    x = y = start_x = start_y = 0.0
    points = 0
    for command, numbers in _parse_absolute(data, dx, dy, precision, scale):
        if command == "Z":
            writer.emit("z", [])
            x, y = start_x, start_y
            continue
        end_x, end_y = numbers[-2], numbers[-1]
        points += len(numbers) // 2
        if command == "M":
            relative = [round(end_x - x, precision), round(end_y - y, precision)]
            writer.emit(*_shorter(("M", numbers), ("m", relative), precision=precision))
            start_x, start_y = end_x, end_y
        elif command == "L":
            if (end_x, end_y) == (x, y):
                points -= 1  # a segment that rounding made empty
                continue
            rel_x, rel_y = round(end_x - x, precision), round(end_y - y, precision)
            if rel_y == 0:
                choice = _shorter(("H", [end_x]), ("h", [rel_x]), precision=precision)
            elif rel_x == 0:
                choice = _shorter(("V", [end_y]), ("v", [rel_y]), precision=precision)
            else:
                choice = _shorter(("L", numbers), ("l", [rel_x, rel_y]), precision=precision)
            writer.emit(*choice)
        else:  # C
            relative = [
                round(value - (x if index % 2 == 0 else y), precision)
                for index, value in enumerate(numbers)
            ]
            writer.emit(*_shorter(("C", numbers), ("c", relative), precision=precision))
        x, y = end_x, end_y
    return writer.text(), points


def clean_svg(
    raw: str,
    width: int,
    height: int,
    precision: int,
    recolor=None,
    scale: tuple[float, float] = (1.0, 1.0),
) -> CleanSvg:
    """Turn vtracer's output into a compact SVG with a viewBox and no transforms.

    `recolor`, if given, maps each fill (as "#rrggbb") to the one to write; `scale` (x, y) takes
    the paths of a copy traced smaller to the image's own width x height.
    """
    paths = []
    colors: dict[str, None] = {}
    nodes = 0
    for match in _PATH_ELEMENT.finditer(raw):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        dx = dy = 0.0
        translate = _TRANSLATE.search(attributes.get("transform", ""))
        if translate:
            dx, dy = float(translate.group(1)), float(translate.group(2))
        data, points = rewrite_path_data(attributes.get("d", ""), dx, dy, precision, scale)
        if points == 0:
            continue
        nodes += points
        fill = attributes.get("fill", "#000000")
        if recolor:
            fill = recolor(fill)
        fill = _short_color(fill)
        colors[fill] = None
        paths.append(f'<path d="{data}" fill="{fill}"/>')
    body = "\n".join(paths)
    text = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">\n{body}\n</svg>\n'
    )
    return CleanSvg(text=text, path_count=len(paths), node_count=nodes, colors=tuple(colors))
