"""Bundled XSDs of the treasury voucher interface (see README.md beside this file)."""
