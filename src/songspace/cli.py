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


class _Bars:
    """One progress bar per stage, fed by the runner's ``progress(stage, done, total)`` calls."""

    def __init__(self, progress: Progress) -> None:
        self.progress, self.tasks = progress, {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)


def _fmt_cell(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.3f}"
    return "" if v is None else str(v)


def _print_table(result: Any) -> None:
    """The key columns of metrics.csv, one row per representation x clusterer."""
    labels = result.summary.get("labels", [])
    cols = ["silhouette_common", *[f"{m}_{lab}" for lab in labels for m in ("nmi", "ari")], "noise_fraction",
            "n_clusters"]
    table = Table(title="metrics.csv (key columns; silhouette_common = in the one space all methods share)",
                  title_justify="left")
    table.add_column("method")
    for c in cols:
        table.add_column(c.replace("_common", " (common)"), justify="right")
    previous = None
    for row in result.metrics:
        if previous is not None and row.get("representation") != previous:
            table.add_section()
        previous = row.get("representation")
        table.add_row(str(row["method"]), *[_fmt_cell(row.get(c)) for c in cols])
    console.print(table)


def _run(cfg: Any) -> None:
    from songspace.runner import run_experiment

    with Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bars:
        result = run_experiment(cfg, progress=_Bars(bars))
    s = result.summary
    console.print(f"{s['tracks_used']} tracks used; features: {s['features_computed']} computed, "
                  f"{s['features_cached']} from cache; k = {s['k']} ({s['k_source']})")
    if s["problems"]:
        console.print(f"[yellow]{s['problems']} problem(s) in the dataset, {s['skipped']} file(s)/row(s) skipped: "
                      f"see {result.folder / 'problems.csv'}[/]")
    for note in s.get("notes", []):
        console.print(f"[yellow]{note}[/]")
    _print_table(result)
    analysis = result.folder / "analysis.md"
    best = [ln[2:] for ln in analysis.read_text(encoding="utf-8").splitlines() if ln.startswith("- Best match")]
    for line in best:
        console.print(line.replace("**", ""), highlight=False)
    console.print(f"notes per method: {result.folder / 'metrics.csv'}; written analysis: {analysis}")
    console.print(f"[bold green]run folder:[/] {result.folder}")


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
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log every step")] = False,
) -> None:
    """Cluster a dataset folder and write a new run folder with metrics, assignments, latents and figures."""
    _setup_logging(verbose)
    try:
        cfg = load_config(config, data=str(data_dir), seed=seed, labels=label or None, out=str(out) if out else None,
                          layout=layout, **{"cluster.k": k, "train.epochs": epochs,
                                            "methods.representations": method or None,
                                            "cluster.algorithms": clusterer or None})
        _run(cfg)
    except SongspaceError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted.[/] Features computed so far are cached: run the same command again "
                      "to resume.")
        raise typer.Exit(130) from None


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


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="folder that receives the run folder")] = Path("runs"),
    n_tracks: Annotated[int, typer.Option(help="tracks in the demo collection")] = 300,
    seed: Annotated[int, typer.Option(help="seed of the collection and of the run")] = 0,
    config: Annotated[Path | None, typer.Option(help="TOML settings file")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Generate (once, then cached) the bilingual demo collection and cluster it."""
    _setup_logging(verbose)
    from songspace.datasets.demo import DEMO_VERSION, generate_demo

    data = DEMO_CACHE / f"v{DEMO_VERSION}-n{n_tracks}-seed{seed}"
    try:
        if not (data / "metadata.csv").exists():
            console.print(f"generating the demo collection into {data} (once; later runs reuse it)")
            with Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console) as bars:
                task = bars.add_task("generating demo", total=n_tracks)
                generate_demo(data, n_tracks=n_tracks, seed=seed,
                              progress=lambda d, n: bars.update(task, completed=d, total=n))
        else:
            console.print(f"using the cached demo collection in {data}")
        cfg = load_config(config, data=str(data), seed=seed, out=str(out), name="demo")
        _run(cfg)
    except (FileExistsError, SongspaceError) as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted.[/] Run the same command again to resume from the cache.")
        raise typer.Exit(130) from None


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
