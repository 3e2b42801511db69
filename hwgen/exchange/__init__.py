"""Networks from and to the tools people train with: QONNX import (:mod:`.qonnx_import`), QONNX
export (:mod:`.qonnx_export`), running a QONNX graph with qonnx's own executor (:mod:`.qonnx_run`)
and the Brevitas training recipe (:mod:`.brevitas_recipe`).

qonnx, onnx, onnxruntime and brevitas are optional extras (``hwgen[onnx]``, ``hwgen[brevitas]``),
imported only when one of these modules runs, so hwgen without them still works;
:func:`require` turns a missing one into one line naming the extra.
"""

from __future__ import annotations

import importlib

from ..errors import ExtraMissing


def require(extra: str, *modules: str) -> None:
    """Import ``modules`` or raise :class:`ExtraMissing` naming ``pip install 'hwgen[extra]'``."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise ExtraMissing(f"{name} is not installed ({e.name or name} missing): pip install 'hwgen[{extra}]'") \
                from None
