"""RRAM device side of hwgen: bit-error maps and the device states that realise them.

The error map is the contract between the device model, the golden model (which XORs it into
packed weights) and the behavioural 2T2R RTL (which is programmed with device states that make
exactly those pairs read wrong).
"""

from .errormap import check_ber, network_error_maps, pair_levels, sample_error_map, sensed_bits
from .physics import (ProgrammingCondition, ber_1t1r, ber_2t2r, cyclability, network_error_maps_from_condition,
                      pcsa_error_probability, programming_energy_pj, sample_error_map_from_condition)

__all__ = ["check_ber", "network_error_maps", "pair_levels", "sample_error_map", "sensed_bits",
           "ProgrammingCondition", "ber_1t1r", "ber_2t2r", "cyclability", "network_error_maps_from_condition",
           "pcsa_error_probability", "programming_energy_pj", "sample_error_map_from_condition"]
