"""Command line: parse, call the runner, print. No logic of its own."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from songspace.config import load_config
from songspace.errors import SongspaceError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Cluster a music collection without labels, in a learned latent space of its sound.")
console = Console()

DEMO_CACHE = Path(os.environ.get("SONGSPACE_DEMO_DIR", "~/.cache/songspace/demo")).expanduser()


def _setup_logging(verbose: bool) -> None:
    handler = RichHandler(console=console, show_path=False, show_time=False)
    handler.setLevel(logging.INFO if verbose else logging.WARNING)  # run.log gets everything regardless
    logging.basicConfig(level=logging.INFO, handlers=[handler], format="%(message)s", force=True)


def _fail(exc: BaseException, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _interrupted() -> typer.Exit:
    console.print("[yellow]interrupted.[/] Features computed so far are cached: run the same command again "
                  "to resume.")
    return typer.Exit(130)


class _Bars:
    """One progress bar per stage, fed by the runner's ``progress(stage, done, total)`` calls."""

    def __init__(self, progress: Progress) -> None:
        self.progress, self.tasks = progress, {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)


def _fmt_cell(row: dict[str, Any], col: str) -> str:
    """``0.840 ± 0.033`` (the mean alone with one seed); NaN as ``nan``."""
    v = row.get(col)
    if not isinstance(v, float):
        return "" if v is None else str(v)
    if math.isnan(v):
        return "nan"
    sd = row.get(f"{col}_std")
    big = abs(v) >= 100
    mean = f"{v:.1f}" if big else f"{v:.3f}"
    if isinstance(sd, float) and not math.isnan(sd):
        return f"{mean} ± {sd:.1f}" if big else f"{mean} ± {sd:.3f}"
    return mean


DEFAULT_SHOW = ("silhouette_common", "nmi_{label}", "ari_{label}", "noise_fraction", "n_clusters")


def _print_table(result: Any, show: list[str]) -> None:
    """The key columns of metrics.csv (means ± std over seeds), one row per representation x clusterer."""
    labels = result.summary.get("labels", [])
    if show:
        cols = [c for c in show if c in result.metric_columns]
    else:
        cols = [c.format(label=lab) for c in DEFAULT_SHOW for lab in (labels if "{label}" in c else [None])]
    n_seeds = len(result.summary.get("seeds", [])) or 1
    spread = f"mean ± std over {n_seeds} seeds" if n_seeds > 1 else "one seed"
    table = Table(title=f"metrics.csv ({spread}; *_common = in the one space all methods share)",
                  title_justify="left")
    table.add_column("method", no_wrap=True)  # the name matters most; narrow terminals squeeze the numbers
    for c in cols:
        table.add_column(c.replace("_common", " (common)"), justify="right", overflow="fold")
    previous = None
    marked = False
    for row in result.metrics:
        if previous is not None and row.get("representation") != previous:
            table.add_section()
        previous = row.get("representation")
        name = str(row["method"])
        if row.get("conditioned_on"):
            name += " †"
            marked = True
        table.add_row(name, *[_fmt_cell(row, c) for c in cols])
    console.print(table)
    if marked:
        console.print("† conditioned on (given) a label: its scores against that label are not unsupervised "
                      "(column conditioned_on).", highlight=False)


def _run(cfg: Any) -> Any:
    from songspace.runner import run_experiment

    with Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bars:
        result = run_experiment(cfg, progress=_Bars(bars))
    s = result.summary
    console.print(f"{s['tracks_used']} tracks used; features: {s['features_computed']} computed, "
                  f"{s['features_cached']} from cache; k = {s['k']} ({s['k_source']}); seeds {s['seeds']}")
    if s["problems"]:
        console.print(f"[yellow]{s['problems']} problem(s) in the dataset, {s['skipped']} file(s)/row(s) skipped: "
                      f"see {result.folder / 'problems.csv'}[/]")
    for note in s.get("notes", []):
        console.print(f"[yellow]{note}[/]")
    _print_table(result, list(cfg.eval.show))
    analysis = result.folder / "analysis.md"
    lines = analysis.read_text(encoding="utf-8").splitlines()
    best = [ln[2:] for ln in lines if ln.startswith("- Best unsupervised match")]
    for line in best:
        console.print(line.replace("**", ""), highlight=False)
    console.print(f"notes per method: {result.folder / 'metrics.csv'}; written analysis: {analysis}")
    console.print(f"[bold green]run folder:[/] {result.folder}")
    return result


@app.command()
def run(
    data_dir: Annotated[Path, typer.Argument(help="dataset folder: audio/ [+ lyrics/, metadata.csv], GTZAN, or "
                                                  "a plain folder of audio files")],
    config: Annotated[Path | None, typer.Option(help="TOML settings file (see configs/)")] = None,
    k: Annotated[int | None, typer.Option(help="number of clusters (default: classes of a label, else chosen "
                                               "by silhouette)")] = None,
    seed: Annotated[int | None, typer.Option(help="seed for every random choice")] = None,
    label: Annotated[list[str] | None, typer.Option(help="label column to evaluate against (repeatable); "
                                                         "default: all found in metadata.csv")] = None,
    out: Annotated[Path | None, typer.Option(help="folder that receives the run folder")] = None,
    layout: Annotated[str | None, typer.Option(help="dataset layout: auto, folder, gtzan, fma, jamendo, mir1k, "
                                                    "lyrics_csv")] = None,
    method: Annotated[list[str] | None, typer.Option("--method", "-m", help="representation to learn "
                                                     "(repeatable; default: all, see configs/default.toml)")] = None,
    clusterer: Annotated[list[str] | None, typer.Option("--clusterer", "-c", help="clusterer (repeatable; "
                                                        "default: all six)")] = None,
    epochs: Annotated[int | None, typer.Option(help="maximum training epochs")] = None,
    seeds: Annotated[int | None, typer.Option(help="seeds per method (seed, seed + 1, ...): tables give mean ± "
                                                   "std")] = None,
    workers: Annotated[int | None, typer.Option(help="seeds run side by side in this many processes (0 = one "
                                                     "per core)")] = None,
    scheduler: Annotated[str | None, typer.Option(help="extract features on a Dask cluster: tcp://HOST:8786, or "
                                                       "local:N for N local worker processes")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log every step")] = False,
) -> None:
    """Cluster a dataset folder and write a new run folder with metrics, assignments, latents and figures."""
    _setup_logging(verbose)
    try:
        cfg = load_config(config, data=str(data_dir), seed=seed, labels=label or None, out=str(out) if out else None,
                          layout=layout, n_seeds=seeds,
                          **{"cluster.k": k, "train.epochs": epochs, "train.workers": workers,
                             "features.scheduler": scheduler,
                             "methods.representations": method or None, "cluster.algorithms": clusterer or None})
        _run(cfg)
    except SongspaceError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        raise _interrupted() from None


@app.command("demo-data")
def demo_data(
    out_dir: Annotated[Path, typer.Argument(help="new folder to write the demo collection into")],
    n_tracks: Annotated[int, typer.Option(help="number of tracks")] = 300,
    seed: Annotated[int, typer.Option(help="seed: the same seed writes the same files")] = 0,
) -> None:
    """Write the built-in bilingual (English / Bangla) demo collection as a normal dataset folder."""
    _setup_logging(False)
    from songspace.datasets.demo import generate_demo

    try:
        with Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as bars:
            task = bars.add_task("generating demo", total=n_tracks)
            s = generate_demo(out_dir, n_tracks=n_tracks, seed=seed,
                              progress=lambda d, n: bars.update(task, completed=d, total=n))
    except (FileExistsError, SongspaceError) as exc:
        raise _fail(exc) from None
    console.print(f"{s.n_tracks} tracks in {s.seconds:.1f} s -> {s.out_dir}\n  languages: {s.n_by_language}\n"
                  f"  genres: {s.n_by_genre}")


LEVELS = ("easy", "medium", "hard")


def _report(folder: Path, *, pdf: bool = True, explorer: bool = True) -> None:
    """report.html / report.pdf / explorer.html of a run folder, and why any of them was not written."""
    from songspace.report import write_report

    with console.status("writing the report and the explorer (with audio clips) ..."):
        files = write_report(folder, pdf=pdf, explorer=explorer)
    for f in (files.html, files.pdf, files.explorer):
        if f is not None:
            console.print(f"wrote {f}", highlight=False, soft_wrap=True)
    for note in files.notes:
        console.print(f"[yellow]{note}[/]", highlight=False, soft_wrap=True)


@app.command()
def experiment(
    config: Annotated[str, typer.Argument(help="a TOML settings file, or the name of a shipped one: easy, medium, "
                                               "hard (configs/)")],
    data: Annotated[Path, typer.Option("--data", help="dataset folder (as for `songspace run`)")],
    out: Annotated[Path | None, typer.Option(help="folder that receives the run folder")] = None,
    seed: Annotated[int | None, typer.Option(help="first seed")] = None,
    seeds: Annotated[int | None, typer.Option(help="seeds per method (default: the config's)")] = None,
    layout: Annotated[str | None, typer.Option(help="dataset layout (default: auto)")] = None,
    report: Annotated[bool, typer.Option(help="write report.html, report.pdf and explorer.html")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run one experiment config (easy, medium, hard, large or your own) on a dataset folder, then write its report."""
    _setup_logging(verbose)
    try:
        cfg = load_config(config, data=str(data), out=str(out) if out else None, seed=seed, n_seeds=seeds,
                          layout=layout)
        if not cfg.name:
            cfg.name = f"{cfg.experiment or Path(str(config)).stem}-{data.name}"
        result = _run(cfg)
    except SongspaceError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        raise _interrupted() from None
    if report:
        try:
            _report(result.folder)
        except SongspaceError as exc:
            raise _fail(exc) from None


def _demo_data(n_tracks: int, seed: int) -> Path:
    from songspace.datasets.demo import DEMO_VERSION, generate_demo

    data = DEMO_CACHE / f"v{DEMO_VERSION}-n{n_tracks}-seed{seed}"
    if not (data / "metadata.csv").exists():
        console.print(f"generating the demo collection into {data} (once; later runs reuse it)")
        with Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as bars:
            task = bars.add_task("generating demo", total=n_tracks)
            generate_demo(data, n_tracks=n_tracks, seed=seed,
                          progress=lambda d, n: bars.update(task, completed=d, total=n))
    else:
        console.print(f"using the cached demo collection in {data}")
    return data


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="folder that receives the run folders")] = Path("runs"),
    n_tracks: Annotated[int, typer.Option(help="tracks in the demo collection")] = 300,
    seed: Annotated[int, typer.Option(help="seed of the collection and first seed of the runs")] = 0,
    level: Annotated[list[str] | None, typer.Option(help="experiment(s) to run: easy, medium, hard (repeatable; "
                                                         "default: all three)")] = None,
    seeds: Annotated[int | None, typer.Option(help="seeds per method (default: each config's, 5)")] = None,
    config: Annotated[Path | None, typer.Option(help="run this TOML settings file instead of the three levels")] = None,
    report: Annotated[bool, typer.Option(help="write report.html, report.pdf and explorer.html per run")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Generate (once, then cached) the bilingual demo collection and run the easy, medium and hard experiments."""
    _setup_logging(verbose)
    levels = list(level or LEVELS)
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise _fail(ValueError(f"unknown level(s) {bad}; choose from {', '.join(LEVELS)}"))
    try:
        data = _demo_data(n_tracks, seed)
        configs: list[Path | str] = [config] if config is not None else levels
        folders = []
        for c in configs:
            cfg = load_config(c, data=str(data), seed=seed, out=str(out), n_seeds=seeds)
            cfg.name = f"demo-{cfg.experiment or Path(str(c)).stem}"
            console.rule(f"{cfg.name}: {cfg.title or c}")
            result = _run(cfg)
            if report:
                _report(result.folder)
            folders.append(result.folder)
    except (FileExistsError, SongspaceError) as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        raise _interrupted() from None
    if len(folders) > 1:
        console.print("[bold green]run folders:[/] " + ", ".join(str(f) for f in folders), highlight=False)


@app.command("report")
def report_command(
    run_dir: Annotated[Path, typer.Argument(help="a run folder (runs/<date>-<time>-<name>)")],
    pdf: Annotated[bool, typer.Option(help="print the paper to report.pdf with headless Chromium")] = True,
    explorer: Annotated[bool, typer.Option(help="write explorer.html (and its audio clips)")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Write report.html (self-contained), report.pdf (a paper) and explorer.html into a finished run folder."""
    _setup_logging(verbose)
    try:
        _report(run_dir, pdf=pdf, explorer=explorer)
    except SongspaceError as exc:
        raise _fail(exc) from None


def _counts(counter: Any, unit: str = "") -> str:
    """``"mp3: 7990, wav: 10"``: a Counter, most common first."""
    return ", ".join(f"{k}{unit}: {v}" for k, v in counter.most_common()) or "-"


def _print_report(r: Any, max_problems: int) -> None:
    """A :class:`~songspace.datasets.inspect.DatasetReport` as rich tables."""
    console.print(f"[bold]{r.root}[/]: layout [bold]{r.layout}[/], {r.n_tracks} tracks, "
                  f"{r.n_with_lyrics} with lyrics", highlight=False, soft_wrap=True)
    audio = Table(title="audio", title_justify="left", show_header=False)
    audio.add_row("formats", _counts(r.formats))
    if r.n_probed:
        d = r.durations
        audio.add_row("headers read", f"{r.n_probed} of {r.n_tracks}")
        total = f"{d.total_s / 3600:.1f} h" if d and d.total_s >= 3600 else f"{d.total_s / 60:.1f} min" if d else ""
        audio.add_row("duration", f"min {d.min_s:.1f} s, median {d.median_s:.1f} s, max {d.max_s:.1f} s, "
                                  f"total {total} ({d.n} files)" if d else "unknown")
        audio.add_row("sample rates", _counts(r.sample_rates, " Hz"))
        audio.add_row("channels", _counts(r.channels, " ch"))
    console.print(audio)
    if r.labels:
        labels = Table(title="labels (evaluation only)", title_justify="left")
        for col in ("label", "classes", "unknown", "counts (largest first)"):
            labels.add_column(col)
        for name, counts in r.labels.items():
            known = [(k, v) for k, v in counts.most_common() if k]
            shown = ", ".join(f"{k} {v}" for k, v in known[:12]) + (", ..." if len(known) > 12 else "")
            labels.add_row(name, str(len(known)), str(counts.get("", 0)), shown)
        console.print(labels)
    if r.lyrics_by_language and r.n_with_lyrics:
        lyr = Table(title="lyrics coverage by language", title_justify="left")
        for col in ("language", "tracks", "with lyrics", "coverage"):
            lyr.add_column(col, justify="left" if col == "language" else "right")
        for lang, (n, with_lyrics) in r.lyrics_by_language.items():
            lyr.add_row(lang or "(unknown)", str(n), str(with_lyrics), f"{with_lyrics / n:.0%}")
        console.print(lyr)
    if r.problems:
        probs = Table(title=f"{len(r.problems)} problem(s)", title_justify="left")
        for col in ("path", "reason", "skipped"):
            probs.add_column(col, overflow="fold")
        for p in r.problems[:max_problems]:
            probs.add_row(p.path, p.reason, "yes" if p.skipped else "no")
        console.print(probs)
        if len(r.problems) > max_problems:
            console.print(f"... and {len(r.problems) - max_problems} more (--max-problems to see them)")
    else:
        console.print("[green]no problems found[/]")


@app.command("inspect")
def inspect_command(
    data_dir: Annotated[Path, typer.Argument(help="dataset folder to describe")],
    layout: Annotated[str, typer.Option(help="dataset layout: auto, folder, gtzan, fma, jamendo, mir1k, "
                                             "lyrics_csv")] = "auto",
    probe: Annotated[bool, typer.Option(help="read audio headers for durations, sample rates and "
                                             "channels (no decoding)")] = True,
    max_probe: Annotated[int | None, typer.Option(help="read at most this many audio headers")] = None,
    max_problems: Annotated[int, typer.Option(help="problems to list")] = 30,
) -> None:
    """Describe a dataset folder without running anything: layout, tracks, audio, labels, lyrics, problems."""
    _setup_logging(False)
    from songspace.datasets.inspect import inspect_dataset

    try:
        report = inspect_dataset(data_dir, layout, probe_audio=probe, max_probe=max_probe)
    except SongspaceError as exc:
        raise _fail(exc) from None
    _print_report(report, max_problems)


def main() -> None:
    app()
