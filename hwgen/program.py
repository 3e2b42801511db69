"""The programming image of a network: the memory-init file the network harness boots from.

One record per weight row of every cell and per threshold row of every layer (fields in
:class:`hwgen.rtl.net_harness.RecordLayout`), written as ``$readmemh`` hex, one word per line.
Weight records carry both devices' state codes for every pair (:func:`pair_levels`), so a
sampled error map becomes devices that the RTL's sense amplifiers read wrong. Padding devices
(beyond a layer's real inputs and neurons) are programmed 0 without errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .device import pair_levels
from .mapping import cell_contents, physical_layer
from .rtl.net_harness import KIND_END, KIND_THRESHOLD, KIND_WEIGHT, RecordLayout


def _row_ints(values: np.ndarray, bits_each: int) -> list[int]:
    """Rows of small unsigned ints ``(R, n)`` -> one int per row, column b at bits ``b*bits_each``."""
    values = np.asarray(values, dtype=np.uint64)
    bits = ((values[..., None] >> np.arange(bits_each, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
    packed = np.packbits(bits.reshape(values.shape[0], -1), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def program_records(network, plans, layout: RecordLayout, error_maps=None, seed: int = 0) -> list[int]:
    """Every record of the image, in boot order, ending with the end marker."""
    records = []
    for plan, layer in zip(plans, network.layers):
        hw = plan.hw
        phys = physical_layer(layer, hw)
        bits = phys.weight_bits()
        cells_bits = cell_contents(bits, hw).reshape(-1, hw.n)            # (cells*n rows, n)
        rows = np.arange(len(cells_bits))
        cell_index = plan.cell_offset + rows // hw.n
        fields = {"data": _row_ints(cells_bits, 1)}
        if layout.code_bits:
            err = np.zeros_like(bits)
            if error_maps is not None and error_maps[plan.index] is not None:
                err[:layer.n_outputs, :layer.n_inputs] = np.asarray(error_maps[plan.index], dtype=np.uint8)
            lrs, hrs = pair_levels(bits, err, hw.level_bits, seed + 104_729 + plan.index)
            fields["lrs"] = _row_ints(cell_contents(lrs, hw).reshape(-1, hw.n), hw.level_bits)
            fields["hrs"] = _row_ints(cell_contents(hrs, hw).reshape(-1, hw.n), hw.level_bits)
        for r in range(len(cells_bits)):
            records.append(layout.pack(kind=KIND_WEIGHT, target=int(cell_index[r]), row=int(rows[r] % hw.n),
                                       **{k: v[r] for k, v in fields.items()}))
        thr = np.clip(phys.thresholds, 0, (1 << hw.threshold_width) - 1).reshape(hw.threshold_rows, hw.M)
        for r, value in enumerate(_row_ints(thr, hw.threshold_width)):
            records.append(layout.pack(kind=KIND_THRESHOLD, target=plan.index, row=r, data=value))
    records.append(layout.pack(kind=KIND_END))
    if len(records) != layout.depth:
        raise AssertionError(f"image has {len(records)} records, the boot ROM holds {layout.depth}")
    return records


def write_program(path, records, layout: RecordLayout) -> Path:
    """Write records as ``$readmemh`` hex (atomically)."""
    path = Path(path)
    digits = (layout.width + 3) // 4
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(f"{r:0{digits}x}\n" for r in records))
    tmp.replace(path)
    return path
