"""The results as files: the table (Markdown), every sample (JSON) and a chart (HTML)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path


def write_results(out: Path, name: str, results: dict, markdown: str) -> None:
    """`name`.json (every figure) and `name`.md (the table) in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / f"{name}.md").write_text(markdown)


def format_markdown(results: dict) -> str:
    """results.md: the machine, the datasets, and each story's medians against its target."""
    m = results["machine"]
    loads = [x for s in results["scenarios"] for x in s["load_1min"]]
    lines = [
        "# The pipeline against the notebook it replaces",
        "",
        f"Measured {results['date']} by `bench/run.py` (`make bench`): {results['runs']} runs of "
        f"each side per story after {results['warmup']} warm-up round(s), the pipeline and the "
        "notebook taking turns (the order swapped every round). Every sample is a whole process: "
        "wall seconds from its start to its exit; peak MB is the largest sum of resident memory "
        "over the process and its children (sampled every 0.1 s; the notebook's are nbclient "
        "and its kernel). Both sides run with the defaults a user gets: figure previews off; "
        "the stories marked *previews on* turn them on (`SUPERSTORE_PREVIEWS=1`; "
        f"{results.get('previews', 'not recorded')}).",
        "",
        "| machine | |",
        "|---|---|",
        f"| CPU | {m['cpus']} × {m['cpu']} |",
        f"| memory | {m['memory']} |",
        f"| load average (1 min) at the start of each round | "
        f"{min(loads):.2f} min, {statistics.median(loads):.2f} median, {max(loads):.2f} max |",
        f"| Python | {m['python']} |",
        f"| dagster / pandas / scikit-learn | {m['dagster']} / {m['pandas']} / "
        f"{m['scikit-learn']} |",
        f"| commit | {m['commit']} |",
        f"| OPENBLAS_CORETYPE | {m['OPENBLAS_CORETYPE']} |",
        "",
        "| dataset | file | SHA-256 | lines |",
        "|---|---|---|---|",
    ]
    for role, d in results["datasets"].items():
        lines.append(f"| {role} | `{d['path']}` | `{d['sha256'][:12]}…` | {d['lines']:,} |")
    if results["dataset_note"]:
        lines += ["", f"**Note:** {results['dataset_note']}"]
    lines += [
        "",
        "## Median wall seconds (min–max) and peak memory",
        "",
        "| story | pipeline command | pipeline s | pipeline MB | notebook s | notebook MB "
        "| pipeline / notebook | target | | round by round | the pipeline did |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in results["scenarios"]:
        p, n, q = s["pipeline"], s["notebook"], s["paired_ratio"]
        targets = [f"≤ {s['target']}"] if s["target"] is not None else []
        targets += [f"< {s['seconds_target']:g} s"] if s.get("seconds_target") else []
        lines.append(
            f"| {s['title']} | `{s['pipeline_command']}` "
            f"| {p['median']:.2f} ({p['min']:.2f}–{p['max']:.2f}) | {p['peak_mb']} "
            + (
                f"| {n['median']:.2f} ({n['min']:.2f}–{n['max']:.2f}) | {n['peak_mb']} "
                f"| **{s['ratio']:.2f}** "
                if n
                else "| – | – | – "
            )
            + f"| {' and '.join(targets) or '–'} "
            f"| {'pass' if s['passed'] else 'FAIL' if targets else ''} "
            + (f"| {q['median']:.2f} ({q['min']:.2f}–{q['max']:.2f}) " if n else "| – ")
            + f"| {s['pipeline_did']} |"
        )
    by_name = {s["name"]: s for s in results["scenarios"]}
    if "swapped_back" in by_name and "cold" in by_name:
        back, cold = by_name["swapped_back"]["pipeline"], by_name["cold"]["pipeline"]
        share = back["median"] / cold["median"]
        lines += [
            "",
            f"Swapped back against cold, both the pipeline's medians: {back['median']:.2f} s / "
            f"{cold['median']:.2f} s = **{share:.2f}** (target: under 1/3, "
            f"{'pass' if share < 1 / 3 else 'FAIL'}).",
        ]
    lines += [
        "",
        "pipeline / notebook is the ratio of the medians, judged against the target; round by "
        "round is the median (min–max) of each round's own ratio, its two runs back to back "
        "under the same load, for a sense of how steady the ratio is on this machine.",
        "",
        "The notebook runs every cell each time, from a new kernel (`bench/notebook.py`, "
        "nbclient): on the original file for the cold, nothing-changed and swapped-back stories, "
        "on the file of the story otherwise, and from the edited copy of the package for the "
        "edited grid. Each pipeline sample has a Dagster home and storage of its own: empty for "
        "the cold stories, else a copy of one made beforehand (untimed) by `superstore "
        "materialize` on the original file (and then the modified one, for the swap back).",
        "",
        "Largest single process, exact (ru_maxrss), median MB: "
        + "; ".join(
            f"{s['title']}: pipeline {s['pipeline']['max_process_mb']}"
            + (f", notebook {s['notebook']['max_process_mb']}" if s["notebook"] else "")
            for s in results["scenarios"]
        )
        + ".",
    ]
    cold = [s for s in results["scenarios"] if s["pipeline_breakdown"]]
    for s in cold:
        b, wall = s["pipeline_breakdown"], s["pipeline"]["median"]
        lines += [
            "",
            f"### Where the time goes: {s['title']}",
            "",
            f"`{s['pipeline_command']}`, median of the rounds: {wall:.2f} s in all, of which "
            f"the Dagster run (start to end, as recorded) {b['run_seconds']:.2f} s and, within "
            f"it, the asset functions (with their inputs' loading and outputs' encoding) "
            f"{b['asset_compute_seconds']:.2f} s; the other "
            f"{wall - b['run_seconds']:.2f} s are the process starting, importing, observing the "
            "file and ending.",
        ]
        if s["notebook_cells"] and s is cold[-1]:
            total = s["notebook"]["median"]
            in_cells = sum(c["seconds"] for c in s["notebook_cells"])
            lines += [
                "",
                f"The notebook: {total:.2f} s in all, {in_cells:.2f} s in its cells, the rest "
                "starting nbclient and the kernel. Median seconds per code cell:",
                "",
                "| cell (first line) | s |",
                "|---|---|",
                *(
                    f"| `{c['cell'][:70]}` | {c['seconds']:.2f} |"
                    for c in s["notebook_cells"]
                    if c["seconds"] >= 0.05
                ),
            ]
    return "\n".join(lines) + "\n"


def write_chart(results: dict, path: Path) -> None:
    """Median wall seconds per story, both sides with their ranges, and the ratio to target."""
    from plotly.subplots import make_subplots

    from superstore_assets.pipeline.figures import style

    scenarios = [s for s in results["scenarios"] if s["notebook"]]  # the side-by-side stories
    titles = [s["title"] for s in scenarios]
    fig = make_subplots(
        rows=2,
        cols=1,
        row_heights=[0.6, 0.4],
        vertical_spacing=0.12,
        subplot_titles=["median wall seconds (bars: min–max)", "pipeline / notebook"],
    )
    for side, color in (("pipeline", "#264653"), ("notebook", "#e9c46a")):
        medians = [s[side]["median"] for s in scenarios]
        fig.add_bar(
            name=side,
            x=titles,
            y=medians,
            marker_color=color,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [s[side]["max"] - s[side]["median"] for s in scenarios],
                "arrayminus": [s[side]["median"] - s[side]["min"] for s in scenarios],
            },
            hovertext=[f"peak {s[side]['peak_mb']} MB" for s in scenarios],
            row=1,
            col=1,
        )
    fig.add_bar(
        name="pipeline / notebook",
        x=titles,
        y=[s["ratio"] for s in scenarios],
        marker_color=["#2a9d8f" if s["passed"] else "#e76f51" for s in scenarios],
        text=[f"{s['ratio']:.2f}" for s in scenarios],
        textposition="outside",
        row=2,
        col=1,
    )
    fig.add_scatter(
        name="target (at most)",
        x=titles,
        y=[s["target"] for s in scenarios],
        mode="markers",
        marker={"symbol": "line-ew-open", "size": 40, "line": {"width": 3}, "color": "#111111"},
        row=2,
        col=1,
    )
    fig.update_layout(barmode="group", height=750)
    style(fig, f"Pipeline against notebook, {results['date']} ({results['runs']} runs a side)")
    # plotly.js in a file beside the page: the same bytes every run, so the repository keeps one
    # copy of it however many results are committed, and the chart still opens offline.
    fig.write_html(path, include_plotlyjs="directory", full_html=True, div_id="bench")
