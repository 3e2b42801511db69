"""The programming image of a network: the memory-init file its harness boots from.

One record per weight row of every cell and per threshold row of every layer (fields in
:func:`hwgen.verify.record.record_layout`), written as ``$readmemh`` hex, one word per line.
Weight records carry both devices' state codes for every pair (:func:`pair_levels`, stream
``("levels", layer)`` of the run's seed), so a sampled error map becomes devices that the RTL's
sense amplifiers read wrong. Padding devices (beyond a layer's real inputs and neurons) are
programmed 0 without errors. Ternary layers also write their zero plane (record field ``zero``), their
device codes come from :func:`hwgen.device.errormap.ternary_pair_levels` (error codes 0..3) and their
thresholds are loaded as ``T + score_offset`` (:func:`hwgen.mapping.hardware_thresholds`). Each replica of a conv layer built with ``parallel > 1`` has its own
devices: its error map is ``(P, outputs, inputs)`` and replica r's rows follow replica r-1's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .device import pair_levels
from .device.errormap import ternary_pair_levels
from .files import atomic_write
from .mapping import cell_contents, hardware_thresholds, pack_rows, physical_layer, weight_planes
from .verify.record import (RecordKind, field_offsets, image_depth, pack_record, pack_records, record_layout,
                            unpack_field)


def program_records(network, plans, error_maps=None, seed: int = 0) -> list[int]:
    """Every record of the image, in boot order, ending with the end marker."""
    layout = record_layout(plans)
    records = []
    offsets = field_offsets(layout)
    for plan, layer in zip(plans, network.layers):
        hw, P = plan.hw, plan.parallel
        phys = physical_layer(layer, hw)
        bits, zeros = weight_planes(phys)
        rows = cell_contents(bits, hw).reshape(-1, hw.n)             # (cells*n rows, n)
        r = np.arange(len(rows))
        err = np.zeros((P, *bits.shape), dtype=np.uint8)
        if error_maps is not None and error_maps[plan.index] is not None:
            err[:, :layer.n_outputs, :layer.n_inputs] = np.asarray(error_maps[plan.index], dtype=np.uint8)
        if "lrs" in offsets:
            # one replica keeps the 2-D draw of a layer stored once
            if hw.is_ternary:
                values = phys.values()
                lrs, hrs = ternary_pair_levels(np.broadcast_to(values, err.shape) if P > 1 else values,
                                               err if P > 1 else err[0], hw.level_bits, seed, plan.index)
            else:
                lrs, hrs = pair_levels(np.broadcast_to(bits, err.shape) if P > 1 else bits, err if P > 1 else err[0],
                                       hw.level_bits, seed, plan.index)
            lrs, hrs = lrs.reshape(err.shape), hrs.reshape(err.shape)
        for replica in range(P):
            fields = {"target": plan.cell_offset + replica * hw.cells + r // hw.n, "row": r % hw.n,
                      "data": pack_rows(rows, 1)}
            if zeros is not None:
                fields["zero"] = pack_rows(cell_contents(zeros, hw).reshape(-1, hw.n), 1)
            if "lrs" in offsets:
                fields["lrs"] = pack_rows(cell_contents(lrs[replica], hw).reshape(-1, hw.n), hw.level_bits)
                fields["hrs"] = pack_rows(cell_contents(hrs[replica], hw).reshape(-1, hw.n), hw.level_bits)
            records += pack_records(layout, len(rows), kind=RecordKind.WEIGHT, **fields)
        top = (1 << hw.threshold_width) - 1
        if hw.is_ternary:
            # a threshold below the lowest score always fires, one above the highest never does
            thr = hardware_thresholds(np.clip(phys.thresholds, -hw.score_offset, top - hw.score_offset), hw)
        else:
            thr = np.clip(phys.thresholds, 0, top)
        thr = thr.reshape(hw.threshold_rows, hw.M)
        records += pack_records(layout, hw.threshold_rows, kind=RecordKind.THRESHOLD, target=plan.index,
                                row=range(hw.threshold_rows), data=pack_rows(thr, hw.threshold_width))
    records.append(pack_record(layout, kind=RecordKind.END))
    if len(records) != image_depth(plans):
        raise AssertionError(f"image has {len(records)} records, the boot ROM holds {image_depth(plans)}")
    return records


def program_writes(network, plans) -> list[tuple]:
    """The programming image decoded into port writes ``(kind, {target, row, data})``, in boot
    order (what the boot loader does, for drivers of the bare network top)."""
    layout = record_layout(plans)
    writes = []
    for word in program_records(network, plans):
        kind = RecordKind(unpack_field(layout, word, "kind"))
        if kind is not RecordKind.END:
            names = ("target", "row", "data") + (("zero",) if "zero" in field_offsets(layout) else ())
            writes.append((kind, {f: unpack_field(layout, word, f) for f in names}))
    return writes


def program_text(records, plans) -> str:
    """Records as ``$readmemh`` text, one fixed-width hex word per line."""
    digits = (record_layout(plans).size + 3) // 4
    return "".join(f"{r:0{digits}x}\n" for r in records)


def write_program(path, records, plans) -> Path:
    """Write records as a ``$readmemh`` file (atomically)."""
    return atomic_write(Path(path), program_text(records, plans))
