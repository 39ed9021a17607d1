"""Entry point of the ``ezhifu`` console script (``ezhifu = ezhifu.cli.main:main``).

Start-up is what a script calling ``ezhifu`` once per file pays each time (issue 17 point 2,
docs/performance.md "The command line"), so this module imports nothing heavy: ``ezhifu
--version`` is answered here before click loads (the same line click's ``--version`` prints, a
test compares them); everything else goes to the click group :data:`~ezhifu.cli.group.cli`,
which loads click, the catalogue and the command table :data:`~ezhifu.cli.group.VERBS`, and a
verb's module only when that verb runs. ``cli``, ``VERBS`` and ``CLI_HELP`` are importable from
here as before, loaded on first use.
"""

from __future__ import annotations

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


def main(*args: Any) -> None:
    """Run the command line on ``sys.argv``; ``ezhifu --version`` alone is answered without click."""
    if sys.argv[1:] == ["--version"]:
        # click's version_option message, frozen in English when the group is declared
        sys.stdout.write(f"ezhifu, version {__version__}\n")
        return
    # why: click, the catalogue and the command table load only past the --version answer
    from ezhifu.cli.group import cli

    cli(prog_name="ezhifu")
