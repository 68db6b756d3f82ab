"""The segment report: a static HTML page written after each build (`segments report`)."""

from customer_segments.report.render import ReportError, render_html, render_report

__all__ = ["ReportError", "render_html", "render_report"]
