"""Amaranth components of the in-memory BNN accelerator (one concern per module)."""

from .array import Array
from .cell import BasicCell
from .rram import Rram2T2RBlock
from .threshold import ThresholdBank
from .tree import PopcountTree

__all__ = ["Array", "BasicCell", "PopcountTree", "Rram2T2RBlock", "ThresholdBank"]
