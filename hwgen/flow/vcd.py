"""Toggles per net bit from a gate-level VCD, matched to the netlist's net names exactly
(:func:`vcd_name`), and how much of the netlist the VCD covered (:meth:`Activity.coverage`):
a net the VCD does not name would count zero toggles, so the flat energy refuses to run short.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DataError, SimulatorMissing


def vcd_name(reference: str) -> str:
    """The netlist name of a VCD variable. Icarus writes an escaped identifier without its leading
    backslash and with every backslash inside it doubled: the netlist's
    ``$flatten\\tree_1.$abc$3391$new_n48_`` (a net ABC made inside a submodule) is
    ``$flatten\\\\tree_1.$abc$3391$new_n48_`` in the VCD. A leading backslash (other writers) goes too."""
    name = reference.strip()
    if name.startswith("\\") and not name.startswith("\\\\"):
        name = name[1:]
    return name.replace("\\\\", "\\")


@dataclass
class Activity:
    """Toggles per net bit from a VCD, and how much of the netlist the VCD covered."""

    toggles: dict           # bit -> toggles
    matched_bits: set       # netlist bits some VCD variable carries
    variables: int          # VCD variables in the file
    matched_variables: int  # of them, matched to a netlist name of the same width

    def coverage(self, driven) -> dict:
        """Shares of VCD variables and of the netlist's driven bits that matched."""
        driven = set(driven)
        return {"vcd_variables": self.variables, "vcd_variables_matched": self.matched_variables,
                "driven_bits": len(driven), "driven_bits_matched": len(driven & self.matched_bits)}


def vcd_toggles(path, names: dict) -> Activity:
    """Toggles (0<->1) per net bit over the whole VCD; a variable's first value is its baseline.
    Variables are matched to netlist names exactly (:func:`vcd_name`; a bit range ignored)."""
    try:
        from vcd.reader import TokenKind, tokenize
    except ImportError:
        raise SimulatorMissing("the energy model reads VCD files with pyvcd: `pip install 'hwgen[flow]'` "
                               "(or run `make setup`)") from None

    var_bits, last, counts = {}, {}, {}
    variables = matched = 0
    defined = False
    try:
        with open(path, "rb") as f:
            for tok in tokenize(f):
                kind = tok.kind
                defined = defined or kind is TokenKind.ENDDEFINITIONS
                if kind is TokenKind.VAR:
                    variables += 1
                    bits = names.get(vcd_name(tok.var.reference))
                    if bits is not None and len(bits) == tok.var.size:
                        matched += 1
                        var_bits.setdefault(tok.var.id_code, []).append(bits)
                elif kind is TokenKind.CHANGE_SCALAR or kind is TokenKind.CHANGE_VECTOR:
                    code = tok.scalar_change.id_code if kind is TokenKind.CHANGE_SCALAR else tok.vector_change.id_code
                    if code not in var_bits:
                        continue
                    if kind is TokenKind.CHANGE_SCALAR:
                        value = tok.scalar_change.value
                    else:
                        v = tok.vector_change.value
                        value = format(v, "b") if isinstance(v, int) else str(v)
                    width = len(var_bits[code][0])
                    text = value.rjust(width, "0" if value[:1] in "01" else value[:1])[-width:]
                    prev = last.get(code)
                    if prev is not None:
                        count = counts.setdefault(code, [0] * width)
                        for k, (a, b) in enumerate(zip(prev, text)):
                            if a != b and a in "01" and b in "01":
                                count[k] += 1
                    last[code] = text
    except Exception as e:      # pyvcd raises errors of its own (and ValueError, EOFError) for a broken file
        raise DataError(f"VCD file {path} is broken or truncated: {type(e).__name__}: {e}") from None
    if not defined:
        raise DataError(f"VCD file {path} is truncated: its header has no $enddefinitions")
    with open(path, "rb") as f:             # pyvcd stops quietly inside a cut token; a whole file ends a line
        f.seek(0, 2)
        whole = f.tell() > 0 and (f.seek(-1, 2) or True) and f.read(1).isspace()
    if not whole:
        raise DataError(f"VCD file {path} is truncated: it ends inside a line")
    # A net bit may appear under several names (aliases, possibly with their own VCD codes): it
    # toggles once however many names carry it, so take the largest count, never the sum.
    toggles = {}
    for code, count in counts.items():
        for bits in var_bits[code]:
            width = len(bits)
            for k, c in enumerate(count[:width]):
                bit = bits[width - 1 - k]
                if isinstance(bit, int) and c > toggles.get(bit, 0):
                    toggles[bit] = c
    covered = {b for all_bits in var_bits.values() for bits in all_bits for b in bits if isinstance(b, int)}
    return Activity(toggles, covered, variables, matched)
