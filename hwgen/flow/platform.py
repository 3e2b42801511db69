"""Technology platforms for the flow: which Liberty and LEF files, which cells synthesis must not
use, the tie and buffer cells, the supply voltage.

Two named platforms follow OpenROAD-flow-scripts (``flow/platforms/<name>/config.mk``):
``sky130hd`` (SkyWater 130 nm, sky130_fd_sc_hd tt_025C_1v80) and ``nangate45`` (FreePDK45
Nangate typical). Their files are looked up, first match wins, in ``--pdk-dir DIR``,
``$HWGEN_PDK/<platform>``, ``$HWGEN_DATA/liberty/<platform>``, then the development checkout's
``../shared/data/liberty/<platform>``. ``--lib PATH.lib`` gives a custom platform (synthesis,
STA and energy only; no LEF, so no place and route or ORFS export).

Debian's Yosys 0.23 and OpenSTA read neither gzipped Liberty nor a dont-use list, so
:meth:`Platform.prepared_liberty` writes, once per content, an uncompressed copy in which the
platform's dont-use cells carry ``dont_use : true`` (without it Yosys's ``abc`` picked
sky130 lpflow isolation cells). The copy lives in the cache folder (``$HWGEN_CACHE``, default
``~/.cache/hwgen``), named by the SHA-256 of its content, so it is made once and shared.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, DataError
from ..files import atomic_write

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# ORFS flow/platforms/sky130hd/config.mk: probe cells have shapes on every layer, lpflow cells
# are for multiple power domains.
_SKY130_DONT_USE = ("sky130_fd_sc_hd__probe_p_*", "sky130_fd_sc_hd__probec_p_*", "sky130_fd_sc_hd__lpflow_*")


@dataclass(frozen=True)
class Platform:
    """One technology: files and the few cell names the flow needs.

    ``tie_hi``/``tie_lo``/``buffer`` are ``(cell, pin...)`` as ORFS's TIEHI_CELL_AND_PORT,
    TIELO_CELL_AND_PORT and MIN_BUF_CELL_AND_PORTS; ``site`` is the placement site.
    """

    name: str
    liberty: Path
    tech_lef: Path | None = None
    cell_lef: Path | None = None
    dont_use: tuple[str, ...] = ()
    tie_hi: tuple[str, str] | None = None
    tie_lo: tuple[str, str] | None = None
    buffer: tuple[str, str, str] | None = None
    site: str | None = None
    process_nm: int | None = None
    full_adder: tuple[str, str, str, str, str, str] | None = None
    half_adder: tuple[str, str, str, str, str] | None = None

    @property
    def maps_adders(self) -> bool:
        """Synthesis puts the cell columns' sums on the platform's full and half adders."""
        return self.full_adder is not None and self.half_adder is not None

    @property
    def has_layout(self) -> bool:
        return self.tech_lef is not None and self.cell_lef is not None

    def library(self, prepared: Path | None = None):
        """The cell data of the platform's Liberty (:func:`hwgen.flow.liberty.load_library`), read
        from ``prepared`` (:meth:`prepared_liberty`, when the caller has it already); errors name
        the user's file and its option."""
        from .liberty import load_library

        return load_library(prepared or self.prepared_liberty(), source=f"{self.liberty} (--lib/--platform)")

    def prepared_liberty(self, cache=None) -> Path:
        """The uncompressed Liberty with the dont-use cells marked (made once, cached)."""
        try:
            raw = self.liberty.read_bytes()
            text = (gzip.decompress(raw) if self.liberty.suffix == ".gz" else raw).decode("utf-8", "replace")
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"cannot read Liberty file {self.liberty}: {getattr(e, 'strerror', None) or e}") from None
        if not re.search(r"^\s*library\s*\(", text, re.M):
            raise DataError(f"{self.liberty} is no Liberty file (no library group); pass a .lib or .lib.gz with --lib")
        text = mark_dont_use(text, self.dont_use)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        folder = cache_dir(cache) / "liberty"
        path = folder / f"{self.name}_{digest}.lib"
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write(path, text)
        return path


def cache_dir(cache=None) -> Path:
    return Path(cache or os.environ.get("HWGEN_CACHE") or Path.home() / ".cache" / "hwgen")


def mark_dont_use(text: str, patterns) -> str:
    """Add ``dont_use : true;`` to every cell whose name matches one of ``patterns`` (globs)."""
    if not patterns:
        return text

    def mark(match):
        name = match.group(2)
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            return f"{match.group(0)}\n{match.group(1)}    dont_use : true;"
        return match.group(0)

    return re.sub(r'^(\s*)cell\s*\(\s*"?([\w$]+)"?\s*\)\s*\{', mark, text, flags=re.M)


PLATFORMS = {
    "sky130hd": dict(liberty="sky130_fd_sc_hd__tt_025C_1v80.lib.gz", tech_lef="sky130hd.tlef",
                     cell_lef="sky130_fd_sc_hd_merged.lef", dont_use=_SKY130_DONT_USE,
                     tie_hi=("sky130_fd_sc_hd__conb_1", "HI"), tie_lo=("sky130_fd_sc_hd__conb_1", "LO"),
                     buffer=("sky130_fd_sc_hd__buf_4", "A", "X"), site="unithd", process_nm=130,
                     full_adder=("sky130_fd_sc_hd__fa_1", "A", "B", "CIN", "COUT", "SUM"),
                     half_adder=("sky130_fd_sc_hd__ha_1", "A", "B", "COUT", "SUM")),
    "nangate45": dict(liberty="nangate45_typ.lib.gz", tech_lef="Nangate45_tech.lef",
                      cell_lef="Nangate45_stdcell.lef", dont_use=("TAPCELL_X1", "FILLCELL_X*", "AOI211_X1", "OAI211_X1"),
                      tie_hi=("LOGIC1_X1", "Z"), tie_lo=("LOGIC0_X1", "Z"), buffer=("BUF_X1", "A", "Z"),
                      site="FreePDK45_38x28_10R_NP_162NW_34O", process_nm=45,
                      full_adder=("FA_X1", "A", "B", "CI", "CO", "S"), half_adder=("HA_X1", "A", "B", "CO", "S")),
}


def platform_dirs(name: str, pdk_dir=None) -> list[Path]:
    if pdk_dir is not None:
        return [Path(pdk_dir)]
    dirs = []
    if os.environ.get("HWGEN_PDK"):
        dirs.append(Path(os.environ["HWGEN_PDK"]) / name)
    if os.environ.get("HWGEN_DATA"):
        dirs.append(Path(os.environ["HWGEN_DATA"]) / "liberty" / name)
    dirs += [PROJECT_ROOT.parent / "shared" / "data" / "liberty" / name,
             Path.cwd().parent / "shared" / "data" / "liberty" / name]
    return list(dict.fromkeys(dirs))          # the checkout and the working folder are often siblings


def get_platform(name: str | None = None, lib=None, pdk_dir=None) -> Platform:
    """The named platform (files found as the module docstring says), or a custom one from a
    Liberty file (``lib``). Exactly one of the two."""
    if (name is None) == (lib is None):
        raise ConfigError("give either --platform (" + "|".join(PLATFORMS) + ") or --lib PATH.lib, not both or neither")
    if lib is not None:
        lib = Path(lib)
        if not lib.is_file():
            raise ConfigError(f"--lib: no Liberty file at {lib}")
        stem = re.sub(r"\W", "_", lib.name.split(".")[0])[:40] or "custom"
        return Platform(name=f"lib_{stem}", liberty=lib.resolve())
    if name not in PLATFORMS:
        raise ConfigError(f"--platform: unknown platform {name!r}; choose from {', '.join(PLATFORMS)} or pass --lib PATH.lib")
    spec = PLATFORMS[name]
    tried = platform_dirs(name, pdk_dir)
    for folder in tried:
        if (folder / spec["liberty"]).is_file():
            files = {k: folder / spec[k] for k in ("liberty", "tech_lef", "cell_lef")}
            missing = [str(p) for p in files.values() if not p.is_file()]
            if missing:
                raise ConfigError(f"--platform {name}: {folder} lacks {', '.join(missing)}")
            return Platform(name=name, **{**spec, **files})
    raise ConfigError(f"--platform {name}: no {spec['liberty']} in " + ", ".join(map(str, tried))
                      + "; pass --pdk-dir DIR (holding the Liberty and LEF files) or set HWGEN_PDK")
