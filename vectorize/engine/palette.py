"""Colours: the image's own dominant colours, and snapping traced fills to them.

vtracer fills each shape with the mean colour of its cluster, and anti-aliased edge pixels pull
that mean off the artist's colour (#02cec8 for #00cec8). Snapping a fill back to the exact colour
the image is made of restores flat areas exactly.
"""

from PIL import Image

Color = tuple[int, int, int]


def parse_hex(color: str) -> Color:
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    if len(digits) != 6:
        raise ValueError(f"not a hex colour: {color!r}")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def to_hex(color: Color) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def dominant_colors(image: Image.Image, *, min_share: float = 0.002) -> list[Color]:
    """Opaque colours covering at least `min_share` of the image; none for a photo-like image
    with more than 65536 distinct colours."""
    rgba = image.convert("RGBA")
    counts = rgba.getcolors(maxcolors=1 << 16)
    if not counts:
        return []
    total = rgba.width * rgba.height
    return [color[:3] for count, color in counts if color[3] == 255 and count / total >= min_share]


def nearest(color: Color, palette: list[Color]) -> Color:
    return min(
        palette, key=lambda other: sum((a - b) ** 2 for a, b in zip(color, other, strict=True))
    )


def snapper(palette: list[Color], *, tolerance: int | None):
    """A fill rewriter: each colour to its nearest palette colour, if within `tolerance` per
    channel (None: always, for a fixed brand palette)."""
    cache: dict[str, str] = {}

    def snap(fill: str) -> str:
        if fill not in cache:
            color = parse_hex(fill)
            best = nearest(color, palette)
            close = (
                tolerance is None
                or max(abs(a - b) for a, b in zip(color, best, strict=True)) <= tolerance
            )
            cache[fill] = to_hex(best) if close else fill
        return cache[fill]

    return snap


def reduced_colors(image: Image.Image) -> list[Color]:
    """Every colour of an image made by reduce_colors (at most 256)."""
    return [color[:3] for _, color in image.convert("RGBA").getcolors(maxcolors=1 << 16) or []]


def _with_alpha_of(source: Image.Image, rgb: Image.Image) -> Image.Image:
    if source.mode != "RGBA":
        return rgb
    result = rgb.convert("RGBA")
    result.putalpha(source.getchannel("A"))
    return result


def reduce_colors(image: Image.Image, count: int) -> Image.Image:
    """At most `count` colours (median cut, no dithering); transparency is kept."""
    reduced = image.convert("RGB").quantize(
        colors=count, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    return _with_alpha_of(image, reduced.convert("RGB"))


def map_to_palette(image: Image.Image, palette: list[Color]) -> Image.Image:
    """Every pixel to its nearest palette colour (no dithering); transparency is kept."""
    palette_image = Image.new("P", (1, 1))
    flat = [channel for color in palette for channel in color]
    # Pillow's palette has 256 entries; repeat the first colour so none of the rest is picked.
    palette_image.putpalette(flat + list(palette[0]) * (256 - len(palette)))
    mapped = image.convert("RGB").quantize(palette=palette_image, dither=Image.Dither.NONE)
    return _with_alpha_of(image, mapped.convert("RGB"))
