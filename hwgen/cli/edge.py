"""The ``hwgen`` group and its error edge: every error a command meets ends as one line
``Error: ...`` and a non-zero exit (1; click's usage errors 2), never a traceback; an unexpected
failure prints one line too, and ``HWGEN_DEBUG=1`` shows its traceback."""

from __future__ import annotations

import functools
import os

import click

from .. import __version__
from ..errors import HwgenError


# -- error edge --------------------------------------------------------------------------------
def fail_cleanly(fn):
    """Every error ends as one line and a non-zero exit, never a traceback or click's "Aborted!"
    (which click prints for an EOFError, e.g. from a truncated file)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (HwgenError, ValueError) as e:
            raise click.ClickException(one_line(e)) from None
        except OSError as e:
            from ..files import describe_os_error
            raise click.ClickException(describe_os_error(e) if e.filename else one_line(e)) from None
        except EOFError as e:
            raise click.ClickException(f"a file ended early (truncated?): {e}") from None
        except KeyboardInterrupt:
            raise
        except Exception as e:
            if os.environ.get("HWGEN_DEBUG"):
                raise
            raise click.ClickException(f"internal error ({type(e).__name__}: {e}); rerun with HWGEN_DEBUG=1 for "
                                       f"the traceback and report it") from None
    return wrapper


def one_line(e: Exception) -> str:
    """The message of ``e``; a verification failure keeps its mismatch lines below it."""
    from ..errors import VerificationError

    text = str(e)
    return text if isinstance(e, VerificationError) else " ".join(text.split())


def given(ctx: click.Context, name: str) -> bool:
    """The option ``name`` was given on the command line (not its default)."""
    return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hwgen")
def main():
    """hwgen: in-memory BNN accelerators on differential (2T2R) RRAM, from network to RTL."""
