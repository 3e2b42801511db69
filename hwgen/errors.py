"""Error types shared by every stage, so the CLI can turn any of them into one clear message."""


class HwgenError(Exception):
    """Base class: a problem with the user's input that hwgen can name."""


class ConfigError(HwgenError, ValueError):
    """A hardware parameter (n, N, M, config, ...) is invalid."""


class LayerDoesNotFit(HwgenError, ValueError):
    """A network layer does not fit the chosen hardware configuration."""


class ModelFileError(HwgenError, ValueError):
    """A model (network IR) file is missing, corrupt or inconsistent."""


class SimulatorMissing(HwgenError, RuntimeError):
    """A simulator needed for a testbench is not installed."""


class DataError(HwgenError, ValueError):
    """A dataset file is missing, unreadable or malformed."""


class ManifestError(HwgenError, ValueError):
    """A design folder's manifest is missing, from another hwgen version, or inconsistent."""


class OutputError(HwgenError, OSError):
    """An output path cannot be written safely (exists with foreign files, not writable, ...)."""


class VerificationError(HwgenError, AssertionError):
    """The RTL disagreed with the golden model or the manifest (or the simulation failed)."""


class ExtraMissing(HwgenError, RuntimeError):
    """An optional dependency group (``pip install 'hwgen[onnx]'``, ...) is not installed."""
