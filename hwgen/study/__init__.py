"""Bit-error tolerance studies on the golden model (paper Fig. 9 and the closed loop)."""
