"""The ``ezhifu`` command line (click). Each verb lives in its own module."""
