"""musicbot: a self-hosted Discord music bot with its own audio engine.

Importing the package imports nothing else: ``musicbot.cli`` reads the settings before the heavy
libraries load (``tests/test_cli_run.py``).
"""

# The one place the version is written: pyproject.toml reads it (``[tool.setuptools.dynamic]``)
# and ``musicbot --version`` prints it, so a PyInstaller binary (no package metadata) says the same.
__version__ = "0.1.0"
