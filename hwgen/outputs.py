"""Result files of the studies and reports: CSV tables and matplotlib figures (Agg backend, for
headless machines), each written atomically (:func:`hwgen.files.atomic_write`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .files import atomic_write


def write_csv(path, rows: list[dict], fields=None) -> Path:
    """``rows`` as CSV; ``fields``: the columns when there may be no rows (then only the header)."""
    path = Path(path)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(fields or rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write(path, buf.getvalue())


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
    try:
        return atomic_write(path, lambda f: fig.savefig(f, dpi=120, format="png"))
    finally:
        plt.close(fig)
