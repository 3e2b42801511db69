"""The network IR's file format (:mod:`hwgen.ir`): ``.npz`` (numpy, no pickle) with a JSON header
entry, so a file loads without code execution and fails loudly when corrupt.

The header names the format and the IR version: 1 for binary dense-only networks (exactly the
fields an older reader knows), 2 with conv layers (``maxpool`` and ``flatten`` entries), 3 with
ternary layers (a ``z<k>`` zero mask beside ``w<k>`` and ``t<k>``). Writing is deterministic
(equal networks give equal bytes); reading checks every size against the header before any array
is read, so a corrupt or hostile file cannot make hwgen allocate without bound.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from .bitpack import words_for
from .errors import ModelFileError
from .ir import Layer, Network
from .ircheck import KINDS

IR_FORMAT = "hwgen-ir"
IR_VERSION = 3              # 2: conv layers, 3: ternary layers; binary dense-only networks are version 1
READ_VERSIONS = (1, 2, 3)
MAX_HEADER_BYTES = 1 << 20
MAX_LAYER_WEIGHTS = 1 << 26     # 64 M weights (8 MB packed): far above any layer hwgen can map


def layer_header(layer) -> list[dict]:
    """A layer's entries in the file header: itself, then its maxpool if it has one."""
    d = {"name": layer.name, "kind": layer.kind, "n_inputs": int(layer.n_inputs), "n_outputs": int(layer.n_outputs),
         "output": layer.output}
    if layer.is_ternary:
        d["weights"] = "ternary"
    if not layer.is_conv:
        return [d]
    d.update(in_shape=list(layer.in_shape), kernel=int(layer.kernel), stride=int(layer.stride),
             padding=int(layer.padding), pad_bit=int(layer.pad_bit))
    return [d] + ([{"kind": "maxpool", "size": int(layer.pool)}] if layer.pool > 1 else [])


def write_network(network, f) -> None:
    """Write ``network`` as .npz into the binary file object ``f``."""
    arrays = {}
    header = {"format": IR_FORMAT, "version": network.version, "metadata": network.metadata,
              "layers": []}
    for k, layer in enumerate(network.layers):
        if network.is_conv and not layer.is_conv and k and network.layers[k - 1].is_conv:
            header["layers"].append({"kind": "flatten"})
        entries = layer_header(layer)
        if network.version == 1:    # exactly the fields an older reader knows
            entries = [{key: v for key, v in entries[0].items() if key != "kind"}]
        header["layers"] += entries
        arrays[f"w{k}"] = layer.weights
        arrays[f"t{k}"] = layer.thresholds
        if layer.is_ternary:
            arrays[f"z{k}"] = layer.zeros
    arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    # as numpy.savez_compressed, but with a fixed member date so equal networks give equal bytes
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def read_network(path, cls=Network) -> Network:
    """Read and validate an IR file (into a ``cls``). Sizes are checked against the header before
    any array is read, so a corrupt or hostile file cannot make hwgen allocate without bound."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        if path.stat().st_size == 0:
            raise ModelFileError(f"model file {path} is empty")
        if not zipfile.is_zipfile(path):
            raise ModelFileError(f"{path} is corrupt or not an hwgen network file: not an .npz archive "
                                 f"(a plain .npy or another format renamed?)")
        with np.load(path, allow_pickle=False) as z:
            members = {info.filename: info.file_size for info in z.zip.infolist()}
            if members.get("header.npy", MAX_HEADER_BYTES + 1) > MAX_HEADER_BYTES:
                raise ModelFileError(f"{path} has no hwgen header (or one over {MAX_HEADER_BYTES} bytes)")
            header = json.loads(bytes(z["header"]).decode())
            if not isinstance(header, dict):
                raise ModelFileError(f"{path}: its header is not a JSON object")
            if header.get("format") != IR_FORMAT:
                raise ModelFileError(f"{path} is not an hwgen network file (format={header.get('format')!r})")
            if header.get("version") not in READ_VERSIONS:
                raise ModelFileError(f"{path} has IR version {header.get('version')!r}; "
                                     f"this hwgen reads versions {', '.join(map(str, READ_VERSIONS))}")
            specs = header.get("layers")
            if not isinstance(specs, list) or not all(isinstance(d, dict) for d in specs):
                raise ModelFileError(f"{path}: its header has no list of layers")
            if not isinstance(header.get("metadata", {}), dict):
                raise ModelFileError(f"{path}: its metadata is not a JSON object")
            layers = _read_layers(z, members, specs, path, header["version"])
    except ModelFileError:
        raise
    except (OSError, EOFError, KeyError, ValueError, TypeError, zipfile.BadZipFile, json.JSONDecodeError,
            UnicodeDecodeError) as e:
        raise ModelFileError(f"{path} is corrupt or not an hwgen network file: {type(e).__name__}: {e}") from None
    return cls(layers=layers, metadata=header.get("metadata", {}))


def _read_layers(z, members: dict, specs: list, path, version: int) -> list[Layer]:
    """Weighted layers from the header's entries; ``maxpool`` fuses into the conv layer before
    it, ``flatten`` must stand between the last conv layer and the first dense one."""
    layers, flattened = [], False
    for e, d in enumerate(specs):
        kind = d.get("kind", "dense")
        where = f"{path}: header entry {e} ({kind!r})"
        if version == 1 and "kind" in d:
            raise ModelFileError(f"{where}: an IR version 1 file has dense layers only (no 'kind')")
        if version < 3 and "weights" in d:
            raise ModelFileError(f"{where}: ternary layers ('weights') need IR version 3, the file says {version}")
        if kind == "maxpool":
            size = d.get("size")
            prev = layers[-1] if layers else None
            if prev is None or not prev.is_conv or prev.pool != 1 or flattened:
                raise ModelFileError(f"{where}: a maxpool must directly follow a conv layer")
            if isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= 64:
                raise ModelFileError(f"{where}: maxpool size must be an integer in [2, 64], not {size!r}")
            prev.pool = size
            prev.validate()
        elif kind == "flatten":
            if not layers or not layers[-1].is_conv or flattened:
                raise ModelFileError(f"{where}: flatten must follow the last conv layer")
            flattened = True
        elif kind in KINDS:
            if kind == "dense" and layers and layers[-1].is_conv and not flattened:
                raise ModelFileError(f"{where}: a dense layer after a conv layer needs a flatten entry before it")
            if kind != "dense" and flattened:
                raise ModelFileError(f"{where}: a conv layer cannot follow flatten")
            layers.append(_read_layer(z, members, len(layers), d, path))
        else:
            raise ModelFileError(f"{where}: unknown layer kind {kind!r}; this hwgen knows "
                                 f"{', '.join(KINDS + ('maxpool', 'flatten'))}")
    return layers


def _read_layer(z, members: dict, k: int, d: dict, path) -> Layer:
    where = f"{path}: layer {k}"
    n_in, n_out = d.get("n_inputs"), d.get("n_outputs")
    for name, value in (("n_inputs", n_in), ("n_outputs", n_out)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ModelFileError(f"{where}: {name} must be a positive integer, not {value!r}")
    if n_in * n_out > MAX_LAYER_WEIGHTS:
        raise ModelFileError(f"{where} declares {n_out} x {n_in} weights, over hwgen's limit of "
                             f"{MAX_LAYER_WEIGHTS} per layer")
    ternary = d.get("weights", "binary")
    if ternary not in ("binary", "ternary"):
        raise ModelFileError(f"{where}: weights must be 'binary' or 'ternary', not {ternary!r}")
    ternary = ternary == "ternary"
    expect = {f"w{k}.npy": n_out * words_for(n_in) * 8, f"t{k}.npy": n_out * 8}
    if ternary:
        expect[f"z{k}.npy"] = n_out * words_for(n_in) * 8
    for member, size in expect.items():
        if member not in members:
            raise ModelFileError(f"{where}: the file has no array {member[:-4]!r}")
        if members[member] > size + 4096:             # + the .npy header
            raise ModelFileError(f"{where}: array {member[:-4]!r} is larger than its declared shape")
    weights, thresholds = z[f"w{k}"], z[f"t{k}"]
    zeros = z[f"z{k}"] if ternary else None
    for what, array in (("packed weights", weights), ("packed zero mask", zeros)):
        if array is not None and array.dtype != np.dtype("<u8"):
            raise ModelFileError(f"{where}: {what} are {array.dtype}, an hwgen IR stores uint64 words")
    if thresholds.dtype.kind not in "iu":
        raise ModelFileError(f"{where}: thresholds are {thresholds.dtype}, an hwgen IR stores integers")
    conv = {}
    kind = d.get("kind", "dense")
    if kind != "dense":
        shape = d.get("in_shape")
        if not isinstance(shape, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in shape):
            raise ModelFileError(f"{where}: in_shape must be a list of integers, not {shape!r}")
        if int(np.prod(shape, dtype=np.float64)) > MAX_LAYER_WEIGHTS:
            raise ModelFileError(f"{where}: input shape {shape} is over hwgen's limit of {MAX_LAYER_WEIGHTS} bits")
        conv = {"kind": kind, "in_shape": tuple(shape),
                **{f: d.get(f, default) for f, default in (("kernel", None), ("stride", 1), ("padding", 0),
                                                          ("pad_bit", 0))}}
    return Layer(n_inputs=n_in, n_outputs=n_out, weights=weights, thresholds=thresholds,
                 output=d.get("output"), name=str(d.get("name", "")), zeros=zeros, **conv)
