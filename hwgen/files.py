"""Writing results safely: atomic files, atomic design folders, and nothing deleted that hwgen
did not write.

- :func:`atomic_write` writes through a private temporary file (``tempfile.mkstemp``, so no
  predictable name and no following of a planted symlink) in the target's folder, then renames
  it over the target. A failure (disk full, a bug, Ctrl-C) leaves the target as it was.
- :func:`write_folder` builds a whole folder (a generated design) in a hidden temporary sibling
  and swaps it in. It replaces an existing folder only when that folder is empty or holds
  nothing but what an earlier hwgen run wrote there (its manifest lists every entry); it never
  writes into the working folder or one of its parents. Hidden temporaries of runs that were
  killed are removed by the next run, recognised by a marker file naming their (dead) process.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from .errors import OutputError

MARKER = ".hwgen-partial"


def describe_os_error(e: OSError, path=None) -> str:
    """One line for an OSError: what failed and on which path."""
    where = path if path is not None else (e.filename or "")
    reason = e.strerror or str(e)
    if e.errno == errno.ENOSPC:
        reason = "no space left on the device"
    return f"cannot write {where}: {reason}" if where else reason


def _write_content(f, content) -> None:
    """Write ``content`` (text, bytes, or a callable given the binary file) into the open file ``f``."""
    if callable(content):
        content(f)
    else:
        f.write(content.encode() if isinstance(content, str) else content)


def atomic_write(path, content) -> Path:
    """Write ``content`` to ``path`` atomically.

    ``content`` is ``str`` (UTF-8 text), ``bytes``, or a callable that writes into the binary
    file object it is given (``numpy.savez``, ``torch.save``, ...). The file gets mode 0644
    (umask applied).
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise OutputError(describe_os_error(e, path)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            _write_content(f, content)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(describe_os_error(e, path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(parent: Path, name: str) -> list[Path]:
    """Remove hidden ``.<name>.*`` folders that an earlier, killed hwgen run left in ``parent``.

    Only folders holding hwgen's marker file whose recorded process no longer runs are removed.
    """
    removed = []
    try:
        candidates = [p for p in Path(parent).iterdir() if p.name.startswith(f".{name}.") and p.is_dir()
                      and not p.is_symlink()]
    except OSError:
        return removed
    for p in candidates:
        try:
            pid = int((p / MARKER).read_text().strip() or -1)
        except (OSError, ValueError):
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def check_output_folder(out_dir, written_files, what: str = "-o") -> None:
    """Refuse ``out_dir`` unless hwgen may (re)place it: new, empty, or an earlier hwgen output.

    ``written_files(folder) -> set of names | None`` tells which entries an earlier hwgen run
    wrote there (from its manifest), or None if the folder is not an hwgen output.
    """
    out_dir = Path(out_dir)
    if out_dir.is_symlink():
        raise OutputError(f"{what} {out_dir} is a symbolic link; give a real folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{what} {out_dir} exists and is not a folder")
    resolved, cwd = out_dir.resolve(), Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise OutputError(f"{what} {out_dir} is the working folder or one of its parents; hwgen replaces its "
                          f"output folder as a whole, so give a new or earlier-output folder")
    if not out_dir.exists():
        return
    try:
        entries = sorted(os.listdir(out_dir))
    except OSError as e:
        raise OutputError(f"cannot read {out_dir}: {e.strerror}") from None
    if not entries:
        return
    owned = written_files(out_dir)
    if owned is None:
        raise OutputError(f"{what} {out_dir} is not empty and is not an hwgen output (no readable manifest.json "
                          f"or step.json of hwgen); hwgen never deletes what it did not write: choose a new or empty folder")
    foreign = [e for e in entries if e not in owned]
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise OutputError(f"{what} {out_dir} holds files hwgen did not write there ({shown}); move them away or "
                          f"choose another folder (hwgen never deletes what it did not write)")


def writable_folder(folder, option: str = "--out") -> Path:
    """Create ``folder`` if needed and check it can be written, or a clear error naming ``option``."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{option} {folder}: {describe_os_error(e, folder)}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {folder}: cannot write there (permission denied)")
    return folder


def prepare_folder(out_dir, written_files, what: str = "-o") -> Path:
    """:func:`check_output_folder`, then create its parent: what :func:`write_folder` does first,
    and what a generator calls before long work, so a bad ``-o`` fails at once."""
    out_dir = Path(out_dir)
    check_output_folder(out_dir, written_files, what)
    writable_folder(out_dir.parent, what)
    return out_dir


def write_folder(out_dir, files: dict, written_files, what: str = "-o") -> Path:
    """Write ``files`` (relative name -> content as for :func:`atomic_write`) as the whole content
    of ``out_dir``, atomically; see :func:`check_output_folder` for when an existing folder is
    replaced."""
    out_dir = prepare_folder(out_dir, written_files, what)
    parent = out_dir.parent
    try:
        clean_stale(parent, out_dir.name)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    except OSError as e:
        raise OutputError(describe_os_error(e, parent)) from None
    try:
        (tmp / MARKER).write_text(str(os.getpid()))
        tmp.chmod(0o755)
        for rel, content in files.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as f:
                _write_content(f, content)
        (tmp / MARKER).unlink()
        old = None
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=parent))
            old.rmdir()
            out_dir.rename(old)
            try:
                tmp.rename(out_dir)
            except OSError:
                old.rename(out_dir)         # put the earlier output back
                raise
            (old / MARKER).write_text(str(os.getpid()))
        else:
            tmp.rename(out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(describe_os_error(e, out_dir)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
