"""The run explains itself: ``report.html``, ``report.pdf`` and ``explorer.html`` from a run folder.

    files = write_report(Path("runs/20261123-101500-demo-easy"))
    files.html, files.pdf, files.explorer

The stage reads the run folder once (:func:`songspace.runfolder.read_run`), then pure functions turn what it
read into pages: :func:`~songspace.report.html.report_html` (one page: the headline tables and figures, these as
data URIs, CSS inline, no URL off the run folder; an on-screen appendix with every row in sortable tables and links
to the CSV files and the other figures) and :func:`~songspace.report.paper.paper_html` (a NeurIPS-style paper of
about a dozen pages whatever the run, that headless Chromium prints to PDF, :mod:`songspace.report.pdf`). The
interactive latent-space page is :func:`songspace.report.explorer.write_explorer`. The pages are Jinja2 templates
(``templates/``) that escape every string from the dataset; the files are written through
:class:`songspace.runfolder.RunFolder`.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from songspace.errors import SongspaceError
from songspace.report.html import report_html
from songspace.report.paper import paper_html
from songspace.report.pdf import find_chromium, print_to_pdf
from songspace.runfolder import REPORT_HTML, REPORT_PDF, RunData, RunFolder, read_run

log = logging.getLogger(__name__)

__all__ = ["ReportFiles", "RunData", "find_chromium", "paper_html", "print_to_pdf", "read_run", "report_html",
           "write_report"]


@dataclass
class ReportFiles:
    """What :func:`write_report` wrote. ``pdf`` / ``explorer`` are None when not asked for or not written; then
    ``notes`` says why."""

    html: Path
    pdf: Path | None = None
    explorer: Path | None = None
    notes: list[str] = field(default_factory=list)


def write_report(run_dir: Path | str, *, pdf: bool = True, explorer: bool = True,
                 timeout_s: float = 180.0) -> ReportFiles:
    """Write ``report.html`` (always), ``report.pdf`` (``pdf``) and ``explorer.html`` (``explorer``) into the run
    folder ``run_dir``.

    A missing or failing Chromium, or an explorer that cannot be drawn, is logged with its reason and noted in
    ``ReportFiles.notes``; only an unreadable run folder raises.

    Parameters
    ----------
    run_dir : Path
        A run folder written by ``songspace run`` / ``demo`` / ``experiment`` (older layouts are read too).
    pdf : bool
        Print the paper to ``report.pdf`` with headless Chromium.
    explorer : bool
        Write ``explorer.html`` (and its audio clips) first, so that the report links to it.
    timeout_s : float
        Longest time Chromium may take to print.

    Raises
    ------
    RunError
        ``run_dir`` is not a run folder or has no readable ``metrics.csv``.
    """
    run = read_run(run_dir)
    folder = RunFolder.open(run_dir)
    files = ReportFiles(html=folder.path / REPORT_HTML)
    if explorer:
        try:
            from songspace.report.explorer import write_explorer

            files.explorer = write_explorer(folder.path)
            run.has_explorer = True
        except (SongspaceError, OSError, ValueError) as exc:
            files.notes.append(f"explorer.html not written: {exc}")
            log.warning("report: explorer.html not written: %s", exc)
    if pdf:
        with tempfile.TemporaryDirectory(prefix="songspace-paper-") as tmp:
            page = Path(tmp) / "paper.html"
            page.write_text(paper_html(run), encoding="utf-8")
            try:  # Chromium writes the file itself, under a temporary name renamed at the end
                files.pdf = print_to_pdf(page, folder.file(REPORT_PDF), timeout_s=timeout_s)
            except SongspaceError as exc:
                files.notes.append(str(exc))
                log.warning("report: %s", exc)
    pdf_name = REPORT_PDF if (folder.path / REPORT_PDF).is_file() else None
    folder.write_text(REPORT_HTML, report_html(run, pdf_name=pdf_name))
    log.info("report: %s%s", files.html, f", {files.pdf}" if files.pdf else "")
    return files
