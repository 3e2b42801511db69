"""The manifest of a generated design: the typed contract between the generator and everything
that reads a design folder (regressions, testbenches, lint/synthesis, later the flow).

A design folder holds Verilog views, for networks a programming image and a copy of the IR,
and ``manifest.json``. :class:`Manifest` is the only reader and writer of that file. Loading
validates it completely, so a reader never meets a half-formed entry: every file name is a
plain name inside the design folder, every top module a strict identifier (they are handed to
external tools), and a manifest from another manifest version is refused with a clear message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .errors import ConfigError, HwgenError, ManifestError
from .hwconfig import HwConfig

FORMAT = "hwgen-design"
VERSION = 2
KINDS = ("array", "network")
FILE_NAME = "manifest.json"
MAX_MANIFEST_BYTES = 16 << 20

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


IDENTIFIER_RULE = "an identifier of letters, digits and _ (not starting with a digit, at most 128 characters)"


def is_identifier(value) -> bool:
    """A Verilog module name hwgen writes or hands to a tool: letters, digits and ``_``, not
    starting with a digit (no escaped identifiers, no paths)."""
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None


def check_identifier(what: str, value) -> str:
    if not is_identifier(value):
        raise ConfigError(f"{what} must be {IDENTIFIER_RULE}, not {value!r}")
    return value


def check_file_name(what: str, value) -> str:
    """A plain file name inside a design folder: no separators, no ``..``, no leading dot."""
    if not isinstance(value, str) or not _PLAIN_NAME.fullmatch(value) or ".." in value:
        raise ManifestError(f"{what} must be a plain file name inside the design folder, not {value!r}")
    return value


@dataclass(frozen=True)
class View:
    """One Verilog view of a design: its top module and its files (the top's file first)."""

    top: str
    verilog: tuple[str, ...]
    blackbox: tuple[str, ...] = ()   # black-box stubs among ``verilog`` (macro view)
    capacity: int | None = None      # harness views: passes (array) or images (network) per batch
    program: str | None = None       # network harness: the programming image it boots from

    def as_dict(self) -> dict:
        d = {"top": self.top, "verilog": list(self.verilog)}
        if self.blackbox:
            d["blackbox"] = list(self.blackbox)
        if self.capacity is not None:
            d["capacity"] = self.capacity
        if self.program is not None:
            d["program"] = self.program
        return d

    @classmethod
    def from_dict(cls, name: str, d) -> "View":
        if not isinstance(d, dict):
            raise ManifestError(f"view {name!r} must be a JSON object")
        verilog = d.get("verilog")
        if not isinstance(verilog, list) or not verilog:
            raise ManifestError(f"view {name!r} lists no Verilog files")
        capacity = d.get("capacity")
        if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1):
            raise ManifestError(f"view {name!r}: capacity must be a positive integer, not {capacity!r}")
        blackbox = d.get("blackbox", [])
        if not isinstance(blackbox, list):
            raise ManifestError(f"view {name!r}: blackbox must be a list")
        try:
            return cls(top=check_identifier(f"view {name!r} top", d.get("top")),
                       verilog=tuple(check_file_name(f"view {name!r} file", f) for f in verilog),
                       blackbox=tuple(check_file_name(f"view {name!r} black box", f) for f in blackbox),
                       capacity=capacity,
                       program=None if d.get("program") is None else check_file_name(f"view {name!r} program",
                                                                                       d["program"]))
        except ConfigError as e:
            raise ManifestError(str(e)) from None


@dataclass
class Manifest:
    """A generated design. ``hw`` is set for arrays, ``layers`` (LayerPlans) for networks."""

    kind: str
    top: str
    views: dict[str, View]
    ports: dict[str, list]
    timing: dict
    hw: HwConfig | None = None
    layers: tuple = ()
    network: dict | None = None      # networks: {"metadata", "model", "ir"}
    program: dict | None = None      # networks: {"file", "layout", "devices"}
    generator: str = f"hwgen {__version__}"
    folder: Path | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ManifestError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.kind == "array" and self.hw is None:
            raise ManifestError("an array manifest needs its hardware configuration (hw)")
        if self.kind == "network" and not self.layers:
            raise ManifestError("a network manifest needs its layers")
        if not self.views:
            raise ManifestError("the manifest lists no views")

    # -- reading ---------------------------------------------------------------------------
    def view(self, name: str) -> View:
        if name not in self.views:
            raise ManifestError(f"{self.folder or 'the design'} has no {name!r} view; it has "
                                f"{', '.join(sorted(self.views))} (regenerate it with --views ...)")
        return self.views[name]

    def path(self, name: str) -> Path:
        """A file of the design folder, which must exist."""
        if self.folder is None:
            raise ManifestError("this manifest was not loaded from a design folder")
        path = self.folder / check_file_name("file", name)
        if path.is_symlink():       # hwgen writes plain files; a link could hand a tool any file on the machine
            raise ManifestError(f"{path} is a symbolic link; a design folder holds the files hwgen wrote, not "
                                f"links (regenerate it with `hwgen rtl`)")
        if not path.is_file():
            raise ManifestError(f"design folder {self.folder} lacks {name}, which its manifest lists; "
                                f"regenerate it with `hwgen rtl`")
        return path

    def sources(self, view: str) -> list[Path]:
        """The Verilog files of ``view`` (each checked to exist)."""
        return [self.path(f) for f in self.view(view).verilog]

    @property
    def ir_file(self) -> str | None:
        return None if not self.network else self.network.get("ir")

    def written_files(self) -> set[str]:
        """Every file hwgen wrote into the design folder (what a regeneration may replace), and
        ``flow``: the flow's results of this design (:mod:`hwgen.flow.steps`), stale once the
        Verilog is regenerated."""
        names = {FILE_NAME, "flow"}
        for v in self.views.values():
            names.update(v.verilog)
            names.update(v.blackbox)
            if v.program:
                names.add(v.program)
        if self.program:
            names.add(self.program["file"])
        if self.ir_file:
            names.add(self.ir_file)
        return names

    @property
    def dataset(self) -> str:
        """The dataset the network was trained on (its IR metadata), ``mnist`` if it names none."""
        from .ir import dataset_of

        return dataset_of((self.network or {}).get("metadata"))

    # -- (de)serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {"format": FORMAT, "version": VERSION, "generator": self.generator, "kind": self.kind, "top": self.top,
             "files": {name: v.as_dict() for name, v in self.views.items()}, "ports": self.ports,
             "timing": self.timing}
        if self.hw is not None:
            hw = self.hw
            d["hw"] = hw.as_dict()
            # derived, for the reader of the file (ignored when loading)
            d["capacity"] = {"inputs": hw.max_inputs, "outputs": hw.max_outputs}
            d["widths"] = {"popcount": hw.popcount_width, "threshold": hw.threshold_width,
                           "input_beat": hw.input_width, "level": hw.level_bits}
            d["beats"] = {"input": hw.input_beats, "output": hw.output_beats, "output_lanes": hw.output_lanes,
                          "threshold_rows": hw.threshold_rows}
            # how out.popcount and the loaded thresholds relate to the golden model (hw.weights)
            d["count"] = {"weights": hw.weights, "per_column_max": hw.column_max, "score_offset": hw.score_offset,
                          "definition": "out.popcount = golden popcount (ternary: score) + score_offset; "
                                        "thresholds are loaded as T + score_offset"}
            if hw.is_ternary:
                d["count"]["zero_band"] = hw.zero_band
        if self.layers:
            d["network"] = {**(self.network or {}), "layers": [p.as_dict() for p in self.layers]}
        if self.program is not None:
            d["program"] = self.program
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def save(self, folder=None) -> Path:
        """Write ``manifest.json`` into ``folder`` (default: the folder it was loaded from),
        atomically. The generator writes it with the rest of a design (:mod:`hwgen.generate`)."""
        from .files import atomic_write

        folder = Path(folder) if folder is not None else self.folder
        if folder is None:
            raise ManifestError("no design folder to save the manifest into")
        return atomic_write(folder / FILE_NAME, self.to_json())

    @classmethod
    def from_dict(cls, d, folder: Path | None = None) -> "Manifest":
        where = f"{folder / FILE_NAME}" if folder is not None else "manifest"
        if not isinstance(d, dict):
            raise ManifestError(f"{where} is not a JSON object")
        if d.get("format") != FORMAT:
            if str(d.get("generator", "")).startswith("hwgen"):
                raise ManifestError(f"{where} was written by an older hwgen; regenerate the design with `hwgen rtl`")
            raise ManifestError(f"{where} is not an hwgen design manifest (format {d.get('format')!r})")
        if d.get("version") != VERSION:
            raise ManifestError(f"{where} has manifest version {d.get('version')!r}; this hwgen reads version "
                                f"{VERSION}: regenerate the design with `hwgen rtl`")
        try:
            from .netplan import LayerPlan

            files = d["files"]
            if not isinstance(files, dict):
                raise ManifestError("files must be a JSON object")
            views = {name: View.from_dict(name, v) for name, v in files.items()}
            hw = HwConfig(**d["hw"]) if d.get("hw") is not None else None
            net = d.get("network")
            layers, network = (), None
            if net is not None:
                if not isinstance(net, dict) or not isinstance(net.get("layers"), list):
                    raise ManifestError("network must be an object with a list of layers")
                layers = tuple(LayerPlan.from_dict(p) for p in net["layers"])
                network = {k: v for k, v in net.items() if k != "layers"}
                if network.get("ir") is not None:
                    check_file_name("network ir", network["ir"])
            program = d.get("program")
            if program is not None:
                if not isinstance(program, dict):
                    raise ManifestError("program must be a JSON object")
                check_file_name("program file", program.get("file"))
            ports, timing = d.get("ports", {}), d.get("timing", {})
            if not isinstance(ports, dict) or not isinstance(timing, dict):
                raise ManifestError("ports and timing must be JSON objects")
            return cls(kind=d.get("kind"), top=check_identifier("top", d.get("top")), views=views, ports=ports,
                       timing=timing, hw=hw, layers=layers, network=network, program=program,
                       generator=str(d.get("generator", "")), folder=folder)
        except HwgenError as e:
            raise ManifestError(f"{where}: {e}") from None
        except (KeyError, TypeError, ValueError) as e:
            raise ManifestError(f"{where} is incomplete or malformed ({type(e).__name__}: {e}); regenerate the "
                                f"design with `hwgen rtl`") from None

    @classmethod
    def load(cls, folder) -> "Manifest":
        """Read and validate ``folder/manifest.json``."""
        folder = Path(folder)
        path = folder / FILE_NAME
        if not folder.is_dir():
            raise ManifestError(f"{folder} is not a design folder")
        if not path.is_file():
            raise ManifestError(f"{folder} has no {FILE_NAME}: generate it with `hwgen rtl ... -o {folder}`")
        try:
            if path.stat().st_size > MAX_MANIFEST_BYTES:
                raise ManifestError(f"{path} is larger than {MAX_MANIFEST_BYTES >> 20} MB: not an hwgen manifest")
            d = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ManifestError(f"{path} is not valid JSON: {e}") from None
        except OSError as e:
            raise ManifestError(f"cannot read {path}: {e.strerror or e}") from None
        return cls.from_dict(d, folder)
