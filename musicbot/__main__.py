"""``python -m musicbot``, and the entry point of the single-file binary (``packaging/musicbot.spec``).

Frozen, ``sys.executable`` is the binary itself, not a Python: when the bot starts a render worker
with ``sys.executable -m musicbot.voice.worker FD`` (``voice/processes.py``), the binary receives
those arguments and runs the module here, as Python's ``-m`` would.
"""

from __future__ import annotations

import multiprocessing
import runpy
import sys

# What the binary runs for ``-m``: the modules the bot starts as processes of its own, no others
# (the binary is not a general Python interpreter).
FROZEN_MODULES = frozenset({"musicbot.voice.worker"})


def main() -> int:
    # In a frozen binary, a process multiprocessing starts (its resource tracker, a forkserver,
    # a spawned child) is the binary again with multiprocessing's own arguments: PyInstaller's
    # runtime hook makes freeze_support run that and exit. Unfrozen it does nothing.
    multiprocessing.freeze_support()
    if getattr(sys, "frozen", False) and len(sys.argv) >= 3 and sys.argv[1] == "-m":
        module = sys.argv[2]
        if module not in FROZEN_MODULES:
            print(f"musicbot: error: -m {module}: this binary runs only {', '.join(sorted(FROZEN_MODULES))}",
                  file=sys.stderr)
            return 2
        sys.argv = [sys.argv[0], *sys.argv[3:]]  # what the module sees under ``python -m``
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0

    from musicbot.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
