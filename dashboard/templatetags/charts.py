"""Server-rendered SVG bar charts for the dashboard (no chart library, no script)."""

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.simple_tag
def bar_chart(points, title, width=640, height=160):
    """points: [(label, value), ...], oldest first."""
    points = list(points or [])
    if not points:
        return format_html('<p class="empty">No data yet.</p>')
    top = max(value for _, value in points) or 1
    gap = 2
    bar = (width - gap * len(points)) / len(points)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="chart-bar"><title>{}: {}</title></rect>',
        (
            (
                f"{index * (bar + gap):.1f}",
                f"{height - 16 - (value / top) * (height - 24):.1f}",
                f"{bar:.1f}",
                f"{(value / top) * (height - 24):.1f}",
                label,
                value,
            )
            for index, (label, value) in enumerate(points)
        ),
    )
    first, last = points[0][0], points[-1][0]
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{title}: largest {top}">'
        '{bars}<text x="0" y="{ty}" class="chart-label">{first}</text>'
        '<text x="{w}" y="{ty}" class="chart-label" text-anchor="end">{last}</text>'
        '<text x="0" y="10" class="chart-label">max {top}</text></svg>',
        w=width,
        h=height,
        title=title,
        top=top,
        bars=bars,
        ty=height - 2,
        first=first,
        last=last,
    )
