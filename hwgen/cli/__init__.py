"""The ``hwgen`` command: a thin layer over the library. Each command takes its options (checked at
the edge by the click types of :mod:`.options`), makes one call into the library module it
concerns, and prints; :mod:`.edge` turns every error into one line ``Error: ...`` and a non-zero
exit.

Commands by area: :mod:`.design` (rtl, check, images), :mod:`.verify` (sim, demo), :mod:`.flow`
(synth, sta, energy, flow, pnr, export orfs), :mod:`.exchange` (import, export qonnx) and :mod:`.study`
(train, sweep, loop, space, fig10, tnn, device).
"""

from . import design, exchange, flow, study, verify  # noqa: F401  (each registers its commands on main)
from .edge import main

__all__ = ["main"]
