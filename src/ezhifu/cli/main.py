"""Entry point of the ``ezhifu`` console script (``ezhifu = ezhifu.cli.main:main``).

Start-up is what a script calling ``ezhifu`` once per file pays each time (issue 17 point 2,
docs/performance.md "The command line"), so this module imports nothing heavy: ``ezhifu
--version`` is answered here before click loads (the same line click's ``--version`` prints, a
test compares them); everything else goes to the click group :data:`~ezhifu.cli.group.cli`,
which loads click, the catalogue and the command table :data:`~ezhifu.cli.group.VERBS`, and a
verb's module only when that verb runs. ``cli``, ``VERBS`` and ``CLI_HELP`` are importable from
here as before, loaded on first use.

The garbage collector is set for a process that starts, does one thing and ends
(docs/performance.md "The command line"). A run's imports make the objects it keeps until the
end (some 25,000 for ``verify``, 15,000 for ``--help``), and Python's collector passed over each
of them in its young generations on the way (55-60 collections of ``verify``, 10-15 ms here)
and over all of them again at exit (its last full collections, 20-40 ms here), freeing next to
nothing. So :func:`main`

- puts the collector's first collection after :data:`START_UP_GC_THRESHOLD` allocations instead
  of 700; when it has run, the thresholds are Python's usual ones again, so a long run
  (a directory, ``serve``) collects as before after its start-up;
- registers :func:`gc.freeze` with :mod:`atexit`: it runs at exit, after the command's output and
  the handlers registered during the run, and the last collections then pass over only what
  was made after it. The rest of the exit is unchanged (output flushed, every ``atexit`` handler
  run, modules cleared, objects freed by reference counting); only garbage caught in a reference
  cycle at exit is not collected, whose ``__del__`` Python does not promise to run at exit
  anyway (the language reference on ``object.__del__``).
"""

from __future__ import annotations

import atexit
import gc
import sys

from ezhifu._lazy import TYPE_CHECKING, lazy_exports
from ezhifu._version import __version__

if TYPE_CHECKING:
    from typing import Any

    from ezhifu.cli.group import CLI_HELP as CLI_HELP
    from ezhifu.cli.group import VERBS as VERBS
    from ezhifu.cli.group import cli as cli

_EXPORTS = "ezhifu.cli.group: CLI_HELP VERBS cli"

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, also=("main",))

#: Allocations before the first garbage collection of a command-line run (Python's usual: 700);
#: above what the imports of any verb make (``ezhifu demo``, which loads nearly everything: 55,000).
START_UP_GC_THRESHOLD = 100_000


def main(*args: Any) -> None:
    """Run the command line on ``sys.argv``; ``ezhifu --version`` alone is answered without click."""
    if sys.argv[1:] == ["--version"]:
        # click's version_option message, frozen in English when the group is declared
        sys.stdout.write(f"ezhifu, version {__version__}\n")
        return
    _collect_after_start_up()
    atexit.unregister(gc.freeze)  # once per process, however often main() runs in it
    atexit.register(gc.freeze)  # the collections at exit skip what the run built (module docstring)
    # why: click, the catalogue and the command table load only past the --version answer
    from ezhifu.cli.group import cli

    cli(prog_name="ezhifu")


def _collect_after_start_up() -> None:
    """The first collection after :data:`START_UP_GC_THRESHOLD` allocations, then the thresholds
    there were before (a ``gc.callbacks`` hook that does nothing more once it has restored them)."""
    usual = gc.get_threshold()
    if usual[0] == START_UP_GC_THRESHOLD:
        return  # an earlier main() in this process is still in its start-up
    restored = False

    def restore(phase: str, _info: dict[str, int]) -> None:
        nonlocal restored
        if phase == "stop" and not restored:
            restored = True
            gc.set_threshold(*usual)

    gc.callbacks.append(restore)
    gc.set_threshold(START_UP_GC_THRESHOLD, *usual[1:])
