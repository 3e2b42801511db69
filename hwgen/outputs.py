"""Result files of the studies and reports: CSV tables and matplotlib figures (Agg backend, for
headless machines), each written atomically (temporary name, then rename)."""

from __future__ import annotations

import csv
import io
from pathlib import Path


def write_csv(path, rows: list[dict]) -> Path:
    path = Path(path)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buf.getvalue())
    tmp.replace(path)
    return path


def new_figure(size=(6, 4), **subplots):
    """``plt.subplots`` on the Agg backend: ``(figure, axes)``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=size, **subplots)


def save_figure(fig, path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path
