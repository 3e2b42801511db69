"""The programming image of a network: the memory-init file its harness boots from.

One record per memory row of every cell column (a column write: row t of the column's N cells,
cell i's part at part i of each field) and per threshold row of every layer (fields in
:func:`hwgen.verify.record.record_layout`), written as ``$readmemh`` hex, one word per line; a
layer's records go column by column (replica by replica), rows in order, then its thresholds.
Weight records carry both devices' state codes for every pair (:func:`pair_levels`, stream
``("levels", layer)`` of the run's seed), so a sampled error map becomes devices that the RTL's
sense amplifiers read wrong. Padding devices (beyond a layer's real inputs and neurons) are
programmed 0 without errors. Ternary layers also write their zero plane (record field ``zero``), their
device codes come from :func:`hwgen.device.errormap.ternary_pair_levels` (error codes 0..3) and their
thresholds are loaded as ``T + score_offset`` (:func:`hwgen.mapping.hardware_thresholds`). Each replica of a conv layer built with ``parallel > 1`` has its own
devices: its error map is ``(P, outputs, inputs)`` and replica r's columns follow replica r-1's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .device import pair_levels
from .device.errormap import ternary_pair_levels
from .files import atomic_write
from .mapping import cell_contents, hardware_thresholds, pack_rows, physical_layer, weight_planes
from .rtl.network import NetworkTop
from .verify.record import (RecordKind, field_offsets, image_depth, pack_record, pack_records, record_layout,
                            unpack_field)


def column_rows(plane, hw) -> np.ndarray:
    """A per-weight plane ``(max_outputs, max_inputs)`` (bits, device codes) -> the rows of its
    column writes, ``(M*n, N*n)``: row ``j*n + t`` is memory row t of cell column j, cell i's n
    values at ``[i*n : (i+1)*n]`` (:func:`hwgen.mapping.cell_contents` regrouped by column)."""
    return cell_contents(plane, hw).transpose(1, 2, 0, 3).reshape(hw.M * hw.n, hw.N * hw.n)


def program_records(network, plans, error_maps=None, seed: int = 0) -> list[int]:
    """Every record of the image, in boot order, ending with the end marker."""
    layout = record_layout(plans)
    records = []
    offsets = field_offsets(layout)
    for plan, layer, first_column in zip(plans, network.layers, NetworkTop.column_offsets_for(plans)):
        hw, P = plan.hw, plan.parallel
        phys = physical_layer(layer, hw)
        bits, zeros = weight_planes(phys)
        rows = column_rows(bits, hw)                                # (M*n column rows, N*n)
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
            fields = {"target": first_column + replica * hw.M + r // hw.n, "row": r % hw.n,
                      "data": pack_rows(rows, 1)}
            if zeros is not None:
                fields["zero"] = pack_rows(column_rows(zeros, hw), 1)
            if "lrs" in offsets:
                fields["lrs"] = pack_rows(column_rows(lrs[replica], hw), hw.level_bits)
                fields["hrs"] = pack_rows(column_rows(hrs[replica], hw), hw.level_bits)
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


def program_writes(network, plans, column_writes: bool = False) -> list[tuple]:
    """The programming image (ideal devices) decoded into port writes ``(kind, {target, row, data[,
    zero]})``, for testbenches that drive a bare :class:`NetworkTop` (no ``lrs``/``hrs``).

    ``column_writes=True``: the image's writes as the boot loader applies them (weights: ``target``
    a global column, a row of all its cells), for a top built with ``column_writes``. False: every
    column write split into its cells' writes (``target`` the global cell, ``data``/``zero`` that
    cell's n bits), in cell order (by cell, then row) before each layer's thresholds, for a top
    with the one-cell port."""
    layout = record_layout(plans)
    names = ("target", "row", "data") + (("zero",) if "zero" in field_offsets(layout) else ())
    writes, cells = [], []
    for word in program_records(network, plans):
        kind = RecordKind(unpack_field(layout, word, "kind"))
        if kind is RecordKind.END:
            break
        fields = {f: unpack_field(layout, word, f) for f in names}
        if kind is RecordKind.WEIGHT and not column_writes:
            cells += _cell_writes(plans, fields)
            continue
        writes += sorted(cells, key=lambda w: (w[1]["target"], w[1]["row"]))
        cells = []
        writes.append((kind, fields))
    return writes + sorted(cells, key=lambda w: (w[1]["target"], w[1]["row"]))


def _cell_writes(plans, fields) -> list[tuple]:
    """One column write ``fields`` as its N cells' writes (global cell index as ``target``)."""
    column = fields["target"]
    for plan, first in zip(plans, NetworkTop.column_offsets_for(plans)):
        hw = plan.hw
        if first <= column < first + plan.parallel * hw.M:
            replica, j = divmod(column - first, hw.M)
            planes = [f for f in ("data", "zero") if f in fields]
            mask = (1 << hw.n) - 1
            return [(RecordKind.WEIGHT, {"target": plan.cell_offset + replica * hw.cells + i * hw.M + j,
                                         "row": fields["row"], **{f: (fields[f] >> (i * hw.n)) & mask for f in planes}})
                    for i in range(hw.N)]
    raise AssertionError(f"column {column} is beyond the network's {NetworkTop.columns_for(plans)} columns")


def program_text(records, plans) -> str:
    """Records as ``$readmemh`` text, one fixed-width hex word per line."""
    digits = (record_layout(plans).size + 3) // 4
    return "".join(f"{r:0{digits}x}\n" for r in records)


def write_program(path, records, plans) -> Path:
    """Write records as a ``$readmemh`` file (atomically)."""
    return atomic_write(Path(path), program_text(records, plans))
