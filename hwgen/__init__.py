"""hwgen: generate, verify and export in-memory BNN accelerators built on 2T2R RRAM."""

__version__ = "0.1.0"
