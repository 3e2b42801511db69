"""The boot record: one word of a network's programming image (``program.hex``).

The record format is an Amaranth :class:`~amaranth.lib.data.StructLayout`, shared by the boot
loader that decodes it in hardware (:mod:`.boot`) and the image writer that packs it in Python
(:mod:`hwgen.program`): one definition, so the two cannot drift apart.

A weight record is a column write (:class:`hwgen.rtl.network.NetworkTop` with
``column_writes``): memory row ``row`` of all N cells of one cell column (cells i*M + j,
i = 0..N-1, of one array), so the boot takes one cycle per column row, not per cell row. Its
fields hold ``N_max`` cells' rows (the largest N of the layers), cell i's at part i; a layer
with fewer cells per column leaves the high parts 0. Fields, LSB first:

- ``kind`` (:class:`RecordKind`): a weight row, a threshold row, or the end of the image;
- ``target``: the global column index (weights: the layer's first column, from
  :meth:`~hwgen.rtl.network.NetworkTop.column_offsets_for`, + ``r*M + j`` for replica r's column
  j) or the layer index (thresholds);
- ``row``: memory row, or threshold row;
- ``data``: cell i's n weight bits at ``[i*n +: n]`` (ternary: the sign plane, 0 for a zero
  weight), or the layer's threshold row (its M thresholds, low bits; a ternary layer's as
  ``T + score_offset``);
- ``zero`` (only when some layer is ternary): cell i's n zero-plane bits at ``[i*n +: n]`` (1 =
  weight 0; 0 in the rows of binary layers);
- ``lrs``, ``hrs`` (behavioural storage only): the device-state codes reached by the SET and the
  RESET device of each pair of the row, ``level_bits`` each, cell i's at
  ``[i*n*level_bits +: n*level_bits]``; this is where sampled errors live (ternary layers:
  :func:`hwgen.device.errormap.ternary_pair_levels`).
"""

from __future__ import annotations

from amaranth.lib import data, enum

from ..hwconfig import carries_codes, index_width


class RecordKind(enum.Enum, shape=2):
    END = 0
    WEIGHT = 1
    THRESHOLD = 2


def record_layout(plans) -> data.StructLayout:
    """The record layout of a network's layer plans (sized as :class:`NetworkTop` sizes its ports)."""
    from ..rtl.network import NetworkTop

    first = plans[0].hw
    lanes = NetworkTop.column_lanes_for(plans)
    fields = {
        "kind": RecordKind,
        "target": index_width(max(NetworkTop.columns_for(plans), len(plans))),
        "row": index_width(max(first.n, max(p.hw.threshold_rows for p in plans))),
        "data": max(lanes * first.n, NetworkTop.threshold_width_for(plans)),
    }
    if NetworkTop.has_ternary_for(plans):
        fields["zero"] = lanes * first.n
    if carries_codes(first.storage):
        fields["lrs"] = fields["hrs"] = lanes * first.n * first.level_bits
    return data.StructLayout(fields)


def image_depth(plans) -> int:
    """Records in a network's programming image: a weight row per column row (every replica of
    a conv layer's array: ``parallel * M * n`` per layer), a threshold row per layer threshold
    row, and the end marker."""
    return sum(p.parallel * p.hw.M * p.hw.n + p.hw.threshold_rows for p in plans) + 1


def field_offsets(layout: data.StructLayout) -> dict[str, tuple[int, int]]:
    """``{field: (offset, width)}`` of a record layout."""
    return {name: (f.offset, f.width) for name, f in layout}


def pack_records(layout: data.StructLayout, count: int, **columns) -> list[int]:
    """``count`` records as integers (what ``$readmemh`` loads). Each field is one value for all
    records or a sequence of ``count`` values; unnamed fields are 0."""
    offsets = field_offsets(layout)
    unknown = set(columns) - set(offsets)
    if unknown:
        raise ValueError(f"unknown record field(s) {sorted(unknown)}")
    words = [0] * count
    for name, values in columns.items():
        at, width = offsets[name]
        if isinstance(values, (int, RecordKind)):
            values = [values] * count
        for k, v in enumerate(values):
            v = int(v.value if isinstance(v, RecordKind) else v)
            if v < 0 or v >> width:
                raise ValueError(f"record field {name}={v} does not fit {width} bits")
            words[k] |= v << at
    return words


def pack_record(layout: data.StructLayout, **values) -> int:
    """One record as an integer; unnamed fields are 0."""
    return pack_records(layout, 1, **values)[0]


def unpack_field(layout: data.StructLayout, word: int, name: str) -> int:
    at, width = field_offsets(layout)[name]
    return (word >> at) & ((1 << width) - 1)


def describe(layout: data.StructLayout, depth: int) -> dict:
    """The layout as the manifest records it (for readers of the image outside hwgen)."""
    return {"fields": [[name, width] for name, (_, width) in field_offsets(layout).items()],
            "width": layout.size, "depth": depth,
            "kinds": {k.name.lower(): k.value for k in RecordKind},
            "weights": "column writes: target = global column, cell i's row at part i of data/zero/lrs/hrs"}
