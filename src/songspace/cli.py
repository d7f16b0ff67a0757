"""Command line: parse, call the runner, print. No logic of its own.

One module (about 680 lines): every command's options, their translation into config keys and the one-line
errors live together so that each option is named once.

Only typer and rich are imported here: torch, scikit-learn, librosa, the runner, the datasets and the features are
imported inside the commands that use them, so that ``songspace --help`` and a mistyped option answer at once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from songspace.errors import ConfigError, SongspaceError
from songspace.terminal import StageProgress, plain


class _Commands(TyperGroup):
    """Typer's command group, except that a command-line mistake is one ``error:`` line and exit code 2 (not a
    boxed usage message)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        handles = standalone_mode and threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _on_sigterm) if handles else None
        try:
            return self._main(args, prog_name, complete_var, standalone_mode, **extra)
        finally:
            if handles:
                signal.signal(signal.SIGTERM, previous)

    def _main(self, args: Sequence[str] | None, prog_name: str | None, complete_var: str | None,
              standalone_mode: bool, **extra: Any) -> Any:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.TyperException as exc:  # typer's usage errors (its own copy of click's)
            if not standalone_mode:
                raise
            if type(exc).__name__ != "NoArgsIsHelpError":  # that one has printed the help already
                _error(_escape(_usage_message(exc)))
            sys.exit(getattr(exc, "exit_code", 2))
        except typer.Abort as exc:
            if not standalone_mode:
                raise
            if isinstance(exc.__cause__, KeyboardInterrupt):  # Ctrl-C or SIGTERM in a command that does not stop
                sys.exit(_interrupted(exc.__cause__).exit_code)  # on its own
            _error("aborted.")
            sys.exit(1)
        if standalone_mode:
            sys.exit(rv if isinstance(rv, int) else 0)
        return rv


app = typer.Typer(cls=_Commands, add_completion=False, no_args_is_help=True,
                  help="Cluster a music collection without labels, in a learned latent space of its sound.")
# emoji=False: a path or name holding ':x:' or ':smile:' is printed as written, never as an emoji.
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

DEMO_CACHE = Path(os.environ.get("SONGSPACE_DEMO_DIR", "~/.cache/songspace/demo")).expanduser()


class TableView(StrEnum):
    """What the terminal shows after a run (metrics.csv always has everything)."""

    headline = "headline"
    full = "full"


TABLE_HELP = ("results shown: headline (the best per label, each representation's best, the baselines) or full "
              "(every row and column)")


class _PrintableFormatter(logging.Formatter):
    """Log lines for the terminal: a file name's control characters escaped (terminal.controls_escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        from songspace.terminal import controls_escaped

        return "\n".join(controls_escaped(line) for line in super().format(record).split("\n"))


def _setup_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    handler = RichHandler(console=console, show_path=False, show_time=False)  # markup off: messages are data
    handler.setFormatter(_PrintableFormatter("%(message)s"))
    handler.setLevel(logging.INFO if verbose else logging.WARNING)  # run.log gets everything regardless
    logging.basicConfig(level=logging.INFO, handlers=[handler], format="%(message)s", force=True)


# -- errors ------------------------------------------------------------------------------------------------------


def _error(line: str) -> None:
    err_console.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True, markup=True)


def _deprecated(old: str, new: str) -> None:
    """One ``warning:`` line: option ``old`` is read as ``new`` until the next release."""
    err_console.print(f"[bold yellow]warning:[/] {old} is deprecated: use {new} (the old name is read until the next "
                      "release)", highlight=False, soft_wrap=True, markup=True)


def _fail(exc: BaseException | str, code: int = 2) -> typer.Exit:
    """Print ``exc`` as one ``error:`` line (or one per line of ``exc``) and return the exit to raise."""
    for line in str(exc).splitlines() or [""]:
        _error(_escape(line))
    return typer.Exit(code)


def _escape(text: object) -> str:
    """Text from data or a path, for a markup string: no markup, no control characters (terminal.shown)."""
    from songspace.terminal import shown

    return shown(text)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it stops as cleanly as on Ctrl-C (workers ended, the run
    folder marked unfinished), with exit code 143 (128 + SIGTERM)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


def _interrupted(exc: BaseException | None = None) -> typer.Exit:
    """The exit of a command stopped by Ctrl-C (130) or SIGTERM (143), after one line saying so."""
    exc = exc if exc is not None else sys.exc_info()[1]
    what = "terminated" if isinstance(exc, Terminated) else "interrupted"
    console.print(f"[yellow]{what}.[/] Features computed so far are cached: run the same command again "
                  "to resume.")
    return typer.Exit(143 if isinstance(exc, Terminated) else 130)


def _param_name(param: Any) -> str:
    """How an option reads as typed: ``-r/--representation``, ``--k``; an argument as ``DATA_DIR``."""
    if getattr(param, "param_type_name", "") == "argument":
        return str(param.name or "").upper()
    return "/".join(sorted(getattr(param, "opts", []), key=len))


def _usage_message(exc: typer.TyperException) -> str:
    """A command-line mistake on one line, naming the option as typed: ``--k must be a whole number (got 'x')``."""
    from pydantic import ValidationError

    param = getattr(exc, "param", None)
    cause = exc.__cause__
    if type(exc).__name__ == "MissingParameter" and param is not None:
        text = f"missing {param.param_type_name} {_param_name(param)}"
    elif param is not None and isinstance(cause, ValidationError) and cause.errors():
        from songspace.config import requirement

        text = f"{_param_name(param)} {requirement(cause.errors()[0])}"
    elif param is not None:
        text = f"{_param_name(param)}: {exc.message}"
    else:
        text = exc.format_message()
    text = " ".join(text.split()).rstrip(".")
    ctx = getattr(exc, "ctx", None)
    return text[:1].lower() + text[1:] + (f" (see: {ctx.command_path} --help)" if ctx is not None else "")


def _shown(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def _load(config: Path | str | None, given: dict[str, tuple[str, Any]]) -> Any:
    """:func:`songspace.settings.load` with what the command line set (config key -> (option as typed, value or
    None)); an invalid value is one ``error:`` line per setting, naming the option, and exit 2."""
    from pydantic import ValidationError

    from songspace.config import config_path, setting_errors
    from songspace.settings import load

    try:
        return load(config, **{key: value for key, (_, value) in given.items()})
    except ConfigError as exc:
        cause = exc.__cause__
        if not isinstance(cause, ValidationError):  # the file itself: a folder, not TOML, not UTF-8
            raise _fail(exc) from None
        where = config_path(config) if config is not None else None
        lines = setting_errors(cause, given, where)
    for line in lines:
        _error(_escape(line))
    raise typer.Exit(2)


def _representation_names() -> list[str]:
    """The valid ``-r/--representation`` values: the representation registry's names."""
    from songspace import representations

    return representations.names()


def _baseline_names() -> list[str]:
    """The representations that learned ones are compared with (shown as baselines in the headline table)."""
    from songspace import representations

    return [s.name for s in representations.specs() if s.baseline]


def _clusterer_names() -> list[str]:
    """The valid ``-c/--clusterer`` values. (Imports every clusterer, hence scikit-learn: about 1 s.)"""
    from songspace import clustering

    return clustering.names()


def _shipped_configs() -> list[str]:
    """Names of the configs shipped with songspace (``easy``, ``medium``, ...), usable instead of a path."""
    from songspace.config import SHIPPED

    return sorted(p.stem for p in SHIPPED.glob("*.toml"))


def _check_choices(option: str, values: Sequence[str] | None, allowed: Sequence[str]) -> None:
    bad = [v for v in values or [] if v not in allowed]
    if bad:
        raise _fail(f"{option} must be one of {', '.join(allowed)} (got {', '.join(map(_shown, bad))})")


def _check_config(option: str, value: Path | str | None) -> None:
    """A config option names an existing file or a shipped config; otherwise one error line listing those."""
    if value is None:
        return
    from songspace.config import config_path

    if not config_path(value).exists():
        raise _fail(f"{option} must be a shipped config ({', '.join(_shipped_configs())}) or the path of a .toml "
                    f"file (got {_shown(str(value))}: no such file)")


# -- running and printing ----------------------------------------------------------------------------------------


def _print_results(result: Any, view: TableView, show: Sequence[str]) -> None:
    """The results table sized to the terminal: the headline rows, or every row (``--table full``)."""
    from songspace.terminal import full_table, headline_table

    labels = list(result.summary.get("labels", []))
    n_seeds = len(result.summary.get("seeds", [])) or 1
    if view is TableView.full:
        parts = full_table(result.metrics, result.metric_columns, width=console.width, n_seeds=n_seeds)
    else:
        parts = headline_table(result.metrics, labels, width=console.width, show=show,
                               baselines=_baseline_names(), n_seeds=n_seeds)
    for part in parts:
        console.print(part, highlight=False)


def _run(cfg: Any, view: TableView = TableView.headline) -> Any:
    from songspace.runner import run_experiment

    with StageProgress(console) as progress:
        result = run_experiment(cfg, progress=progress)
    s = result.summary
    console.print(f"{s['tracks_used']} tracks used; features: {s['features_computed']} computed, "
                  f"{s['features_cached']} from cache; k = {s['k']} ({_escape(s['k_source'])}); seeds {s['seeds']}",
                  highlight=False)
    if s["problems"]:
        console.print(f"[yellow]{s['problems']} problem(s) in the dataset, {s['skipped']} file(s)/row(s) skipped: "
                      f"see {_escape(result.folder / 'problems.csv')}[/]", highlight=False)
    for note in s.get("notes", []):
        console.print(f"[yellow]{_escape(note)}[/]", highlight=False)
    _print_results(result, view, list(cfg.eval.show))
    analysis = result.folder / "analysis.md"
    if analysis.is_file():
        for line in analysis.read_text(encoding="utf-8").splitlines():
            if line.startswith("- Best unsupervised match"):
                console.print(_escape(line[2:].replace("**", "")), highlight=False)
    console.print(f"every row and column: {_escape(result.folder / 'metrics.csv')}; written analysis: "
                  f"{_escape(analysis)}",
                  highlight=False, soft_wrap=True)
    return result


def _report(folder: Path, *, pdf: bool = True, explorer: bool = True) -> Any:
    """report.html / report.pdf / explorer.html of a run folder; prints why any of them was not written."""
    from songspace.report import write_report

    with console.status("writing the report and the explorer (with audio clips) ..."):
        files = write_report(folder, pdf=pdf, explorer=explorer)
    for note in files.notes:
        console.print(f"[yellow]{_escape(note)}[/]", highlight=False, soft_wrap=True)
    return files


def _where(folder: Path, files: Any) -> None:
    """The last lines of a run: where its report, explorer and folder are."""
    if files is None:
        console.print(f"report: not written (--no-report); to write it: songspace report {_escape(folder)}",
                      highlight=False, soft_wrap=True)
    else:
        for what, path in (("report", files.html), ("paper", files.pdf), ("explorer", files.explorer)):
            if path is not None:
                console.print(f"[bold]{what}:[/] {_escape(path)}", highlight=False, soft_wrap=True)
    console.print(f"[bold green]run folder:[/] {_escape(folder)}", highlight=False, soft_wrap=True)


def _run_and_report(cfg: Any, view: TableView, report: bool) -> Path:
    result = _run(cfg, view)
    files = _report(result.folder) if report else None
    _where(result.folder, files)
    return result.folder


# -- commands ----------------------------------------------------------------------------------------------------


@app.command()
def run(
    data_dir: Annotated[Path, typer.Argument(help="dataset folder: audio/ [+ lyrics/, metadata.csv], GTZAN, or "
                                                  "a plain folder of audio files")],
    config: Annotated[Path | None, typer.Option(help="TOML settings file (see configs/), or a shipped one: easy, "
                                                     "medium, hard, large")] = None,
    k: Annotated[int | None, typer.Option(help="number of clusters (default: classes of a label, else chosen "
                                               "by silhouette)")] = None,
    seed: Annotated[int | None, typer.Option(help="seed for every random choice")] = None,
    label: Annotated[list[str] | None, typer.Option(help="label column to evaluate against (repeatable); "
                                                         "default: all found in metadata.csv")] = None,
    out: Annotated[Path | None, typer.Option(help="folder that receives the run folder")] = None,
    layout: Annotated[str | None, typer.Option(help="dataset layout: auto, folder, gtzan, fma, jamendo, mir1k, "
                                                    "lyrics_csv")] = None,
    representation: Annotated[list[str] | None, typer.Option(
        "--representation", "-r", help="representation to learn (repeatable; default: see configs/default.toml)")]
    = None,
    old_representation: Annotated[list[str] | None, typer.Option(
        "--method", "-m", hidden=True, help="deprecated name of -r/--representation")] = None,
    clusterer: Annotated[list[str] | None, typer.Option("--clusterer", "-c", help="clusterer (repeatable; "
                                                        "default: see configs/default.toml)")] = None,
    epochs: Annotated[int | None, typer.Option(help="maximum training epochs")] = None,
    seeds: Annotated[int | None, typer.Option(help="seeds per method (seed, seed + 1, ...): tables give mean ± "
                                                   "std")] = None,
    workers: Annotated[int | None, typer.Option(help="seeds run side by side in this many processes (0 = one "
                                                     "per core)")] = None,
    scheduler: Annotated[str | None, typer.Option(help="extract features on a Dask cluster: tcp://HOST:8786, or "
                                                       "local:N for N local worker processes")] = None,
    table: Annotated[str, typer.Option(help=TABLE_HELP)] = "headline",
    report: Annotated[bool, typer.Option(help="write report.html, report.pdf (with Chromium) and explorer.html")]
    = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log every step")] = False,
) -> None:
    """Cluster a dataset folder and write a new run folder with metrics, assignments, latents, figures and a report."""
    _setup_logging(verbose)
    if old_representation:
        _deprecated("-m/--method", "-r/--representation")
        representation = [*(representation or []), *old_representation]
    _check_choices("--table", [table], [v.value for v in TableView])
    from songspace import representations as registry

    # a variant <base>@<input> (vae@musicnn) is a representation too
    _check_choices("-r/--representation", [r for r in representation or [] if not registry.exists(r)],
                   _representation_names())
    if clusterer:
        _check_choices("-c/--clusterer", clusterer, _clusterer_names())
    _check_config("--config", config)
    cfg = _load(config, {
        "data": ("DATA_DIR", str(data_dir)), "seed": ("--seed", seed), "labels": ("--label", label or None),
        "out": ("--out", str(out) if out else None), "layout": ("--layout", layout), "n_seeds": ("--seeds", seeds),
        "cluster.k": ("--k", k), "train.epochs": ("--epochs", epochs), "train.workers": ("--workers", workers),
        "features.scheduler": ("--scheduler", scheduler),
        "representations.names": ("-r/--representation", representation or None),
        "cluster.algorithms": ("-c/--clusterer", clusterer or None)})
    try:
        _run_and_report(cfg, TableView(table), report)
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
        with StageProgress(console) as progress:
            s = generate_demo(out_dir, n_tracks=n_tracks, seed=seed,
                              progress=lambda d, n: progress("generating demo", d, n))
    except (FileExistsError, SongspaceError) as exc:
        raise _fail(exc) from None
    console.print(f"{s.n_tracks} tracks in {s.seconds:.1f} s -> {_escape(s.out_dir)}\n  languages: {s.n_by_language}\n"
                  f"  genres: {s.n_by_genre}")


LEVELS = ("easy", "medium", "hard")  # what `songspace demo` runs by default


@app.command()
def experiment(
    config: Annotated[str, typer.Argument(help="a TOML settings file, or the name of a shipped one: easy, medium, "
                                               "hard, large (configs/)")],
    data: Annotated[Path, typer.Option("--data", help="dataset folder (as for `songspace run`)")],
    out: Annotated[Path | None, typer.Option(help="folder that receives the run folder")] = None,
    seed: Annotated[int | None, typer.Option(help="first seed")] = None,
    seeds: Annotated[int | None, typer.Option(help="seeds per method (default: the config's)")] = None,
    layout: Annotated[str | None, typer.Option(help="dataset layout (default: auto)")] = None,
    table: Annotated[str, typer.Option(help=TABLE_HELP)] = "headline",
    report: Annotated[bool, typer.Option(help="write report.html, report.pdf and explorer.html")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run one experiment config (easy, medium, hard, large or your own) on a dataset folder, then write its report."""
    _setup_logging(verbose)
    _check_choices("--table", [table], [v.value for v in TableView])
    _check_config("CONFIG", config)
    cfg = _load(config, {"data": ("--data", str(data)), "out": ("--out", str(out) if out else None),
                         "seed": ("--seed", seed), "n_seeds": ("--seeds", seeds), "layout": ("--layout", layout)})
    if not cfg.name:
        cfg.name = f"{cfg.experiment or Path(str(config)).stem}-{data.name}"
    try:
        _run_and_report(cfg, TableView(table), report)
    except SongspaceError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        raise _interrupted() from None


def _demo_data(n_tracks: int, seed: int) -> Path:
    from songspace.datasets.demo import DEMO_VERSION, generate_demo

    data = DEMO_CACHE / f"v{DEMO_VERSION}-n{n_tracks}-seed{seed}"
    if not (data / "metadata.csv").exists():
        console.print(f"generating the demo collection into {_escape(data)} (once; later runs reuse it)",
                      highlight=False)
        with StageProgress(console) as progress:
            generate_demo(data, n_tracks=n_tracks, seed=seed,
                          progress=lambda d, n: progress("generating demo", d, n))
    else:
        console.print(f"using the cached demo collection in {_escape(data)}", highlight=False)
    return data


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="folder that receives the run folders")] = Path("runs"),
    n_tracks: Annotated[int, typer.Option(help="tracks in the demo collection")] = 300,
    seed: Annotated[int, typer.Option(help="seed of the collection and first seed of the runs")] = 0,
    level: Annotated[list[str] | None, typer.Option(help="experiment(s) to run: easy, medium, hard, large "
                                                         "(repeatable; default: easy, medium and hard)")] = None,
    seeds: Annotated[int | None, typer.Option(help="seeds per method (default: each config's, 5)")] = None,
    config: Annotated[Path | None, typer.Option(help="run this TOML settings file instead of the levels")] = None,
    table: Annotated[str, typer.Option(help=TABLE_HELP)] = "headline",
    report: Annotated[bool, typer.Option(help="write report.html, report.pdf and explorer.html per run")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Generate (once, then cached) the bilingual demo collection and run the easy, medium and hard experiments."""
    _setup_logging(verbose)
    _check_choices("--table", [table], [v.value for v in TableView])
    _check_choices("--level", level, _shipped_configs())
    _check_config("--config", config)
    levels = list(level or LEVELS)
    given = {"seed": ("--seed", seed), "out": ("--out", str(out)), "n_seeds": ("--seeds", seeds)}
    configs: list[Path | str] = [config] if config is not None else levels
    cfgs = [_load(c, given) for c in configs]  # every setting checked before anything runs
    try:
        data = _demo_data(n_tracks, seed)
        folders = []
        for c, cfg in zip(configs, cfgs, strict=True):
            cfg.data = str(data)
            cfg.name = f"demo-{cfg.experiment or Path(str(c)).stem}"
            console.rule(f"{cfg.name}: {cfg.title or c}")
            folders.append(_run_and_report(cfg, TableView(table), report))
    except (FileExistsError, SongspaceError) as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        raise _interrupted() from None
    if len(folders) > 1:
        console.print("[bold green]run folders:[/] " + ", ".join(_escape(f) for f in folders), highlight=False)


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
        files = _report(run_dir, pdf=pdf, explorer=explorer)
    except SongspaceError as exc:
        raise _fail(exc) from None
    _where(run_dir, files)


def _counts(counter: Any, unit: str = "") -> str:
    """``"mp3: 7990, wav: 10"``: a Counter, most common first."""
    return ", ".join(f"{k}{unit}: {v}" for k, v in counter.most_common()) or "-"


def _print_report(r: Any, max_problems: int) -> None:
    """A :class:`~songspace.datasets.inspect.DatasetReport` as rich tables."""
    console.print(f"[bold]{_escape(r.root)}[/]: layout [bold]{r.layout}[/], {r.n_tracks} tracks, "
                  f"{r.n_with_lyrics} with lyrics", highlight=False, soft_wrap=True)
    audio = Table(title="audio", title_justify="left", show_header=False)
    audio.add_row("formats", plain(_counts(r.formats)))
    if r.n_probed:
        d = r.durations
        audio.add_row("headers read", f"{r.n_probed} of {r.n_tracks}")
        total = f"{d.total_s / 3600:.1f} h" if d and d.total_s >= 3600 else f"{d.total_s / 60:.1f} min" if d else ""
        audio.add_row("duration", f"min {d.min_s:.1f} s, median {d.median_s:.1f} s, max {d.max_s:.1f} s, "
                                  f"total {total} ({d.n} files)" if d else "unknown")
        audio.add_row("sample rates", _counts(r.sample_rates, " Hz"))
        audio.add_row("channels", _counts(r.channels, " ch"))
    for fmt, why in r.undecodable.items():
        audio.add_row(f"[red].{fmt}[/]", f"[red]{r.formats[fmt]} file(s) {_escape(why)}[/]")
    console.print(audio)
    if r.n_tagged or r.lyrics_sources:
        found = Table(title="tags and lyrics", title_justify="left", show_header=False)
        found.add_row("tracks with tags", f"{r.n_tagged} of {r.n_tracks}")
        if r.n_tagged:
            found.add_row("tags held", ", ".join(f"{name} {r.tags.get(name, 0)}" for name in
                                                 ("title", "artist", "album", "genre", "language", "lyrics")))
        if r.lyrics_sources:
            found.add_row("lyrics from", _counts(r.lyrics_sources))
        found.add_row("labels scored", ", ".join(r.labels) or "none (no label column nor genre/language tag with "
                                                               "two classes or more)")
        console.print(found)
    if r.labels:
        labels = Table(title="labels (evaluation only)", title_justify="left")
        for col in ("label", "classes", "unknown", "counts (largest first)"):
            labels.add_column(col)
        for name, counts in r.labels.items():
            known = [(k, v) for k, v in counts.most_common() if k]
            shown = ", ".join(f"{k} {v}" for k, v in known[:12]) + (", ..." if len(known) > 12 else "")
            labels.add_row(plain(name), str(len(known)), str(counts.get("", 0)), plain(shown))
        console.print(labels)
    if r.lyrics_by_language and r.n_with_lyrics:
        lyr = Table(title="lyrics coverage by language", title_justify="left")
        for col in ("language", "tracks", "with lyrics", "coverage"):
            lyr.add_column(col, justify="left" if col == "language" else "right")
        for lang, (n, with_lyrics) in r.lyrics_by_language.items():
            lyr.add_row(plain(lang or "(unknown)"), str(n), str(with_lyrics), f"{with_lyrics / n:.0%}")
        console.print(lyr)
    if r.problems:
        probs = Table(title=f"{len(r.problems)} problem(s)", title_justify="left")
        for col in ("path", "reason", "skipped"):
            probs.add_column(col, overflow="fold")
        for p in r.problems[:max_problems]:
            probs.add_row(plain(p.path), plain(p.reason), "yes" if p.skipped else "no")
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


@app.command("assign")
def assign_command(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder (runs/<date>-<time>-<name>)")],
    new_data: Annotated[Path, typer.Argument(help="dataset folder of the tracks to place (any layout `run` reads)")],
    out: Annotated[Path | None, typer.Option(help="folder that receives the new assignments folder (default: "
                                                  "RUN_DIR/assigned)")] = None,
    method: Annotated[list[str] | None, typer.Option("--method", "-m", help="method (representation+clusterer) or "
                                                     "representation to place them with (repeatable; default: "
                                                     "every assignable one)")] = None,
    layout: Annotated[str, typer.Option(help="dataset layout of NEW_DATA (default: auto)")] = "auto",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log every step")] = False,
) -> None:
    """Place new tracks in a run's clusters with its saved models, without retraining; writes their clusters with
    a confidence."""
    _setup_logging(verbose)
    from songspace.assign import assign

    try:
        with StageProgress(console) as progress:
            result = assign(run_dir, new_data, out=out, methods=method, layout=layout, progress=progress)
    except SongspaceError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        raise _interrupted() from None
    console.print(f"{result.n_tracks} track(s) placed by {len(result.methods)} method(s): "
                  f"{_escape(', '.join(result.methods))}", highlight=False, soft_wrap=True)
    if result.problems:
        console.print(f"[yellow]{result.problems} file(s) could not be used: see "
                      f"{_escape(result.folder / 'problems.csv')}[/]", highlight=False, soft_wrap=True)
    for m in result.approximate:
        console.print(f"[yellow]{_escape(m)}: approximate (its clusterer ran on a UMAP reduction that is not saved; "
                      f"nearest track of the run within its core distance)[/]", highlight=False, soft_wrap=True)
    for m, why in result.not_assignable.items():
        console.print(f"[yellow]not assignable: {_escape(m)}: {_escape(why)}[/]", highlight=False, soft_wrap=True)
    console.print(f"[bold green]assignments:[/] {_escape(result.folder / 'assignments.csv')}", highlight=False,
                  soft_wrap=True)


@app.command("export")
def export_command(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder (runs/<date>-<time>-<name>)")],
    method: Annotated[str | None, typer.Option("--method", "-m", help="the method (representation+clusterer) whose "
                                               "clusters become playlists (default: the run's headline method)")]
    = None,
    fmt: Annotated[str, typer.Option("--format", help="m3u (extended M3U, UTF-8: .m3u8) or csv")] = "m3u",
    out: Annotated[Path | None, typer.Option(help="folder for the playlists (default: RUN_DIR/playlists/<method>)")]
    = None,
) -> None:
    """Write one playlist per cluster of a run (paths relative to the playlist, titles, artists) for a music player."""
    _setup_logging(False)
    from songspace.playlists import FORMATS, export_playlists

    _check_choices("--format", [fmt], list(FORMATS))
    try:
        result = export_playlists(run_dir, method=method, fmt=fmt, out=out)
    except SongspaceError as exc:
        raise _fail(exc) from None
    sizes = ", ".join(f"{name} {n}" for name, n in result.counts.items())
    console.print(f"{len(result.files)} playlist(s) of {_escape(result.method)} ({sizes})", highlight=False,
                  soft_wrap=True)
    if result.missing_audio:
        console.print(f"[yellow]{result.missing_audio} audio file(s) not found where the run recorded them; their "
                      "entries are written all the same[/]", highlight=False, soft_wrap=True)
    console.print(f"[bold green]playlists:[/] {_escape(result.folder)}", highlight=False, soft_wrap=True)


weights_app = typer.Typer(no_args_is_help=True, help="Pretrained weights: fetched once into the weights cache "
                          "($SONGSPACE_WEIGHTS_DIR or ~/.cache/songspace/weights), never at run time.")
app.add_typer(weights_app, name="weights")


@weights_app.command("fetch")
def weights_fetch(
    wheel: Annotated[Path | None, typer.Option(help="a local musicnn-0.1.0-py3-none-any.whl (for a machine without "
                                                    "a package registry); default: pip download it")] = None,
) -> None:
    """Get musicnn's trained weights (MSD_musicnn, MTT_musicnn; ISC licence) from its PyPI wheel musicnn==0.1.0."""
    _setup_logging(False)
    from songspace.features.weights import fetch_musicnn

    try:
        folder = fetch_musicnn(wheel)
    except SongspaceError as exc:
        raise _fail(exc) from None
    console.print(f"[bold green]musicnn weights:[/] {folder}", highlight=False, soft_wrap=True)


def main() -> None:
    app()
