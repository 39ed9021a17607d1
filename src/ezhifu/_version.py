"""The one version source: ``ezhifu.__version__`` and the distribution's (pyproject, read statically).

A layer-0 module so that the command line reads it without importing the curated API above it
(``ezhifu --version`` answers before click loads, docs/performance.md "The command line").
"""

__version__ = "0.1.0"
