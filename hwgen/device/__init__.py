"""RRAM device side of hwgen: bit-error maps and the device states that realise them.

The error map is the contract between the device model, the golden model (which XORs it into
packed weights) and the behavioural 2T2R RTL (which is programmed with device states that make
exactly those pairs read wrong).
"""

from .errormap import check_ber, network_error_maps, pair_levels, sample_error_map, sensed_bits

__all__ = ["check_ber", "network_error_maps", "pair_levels", "sample_error_map", "sensed_bits"]
