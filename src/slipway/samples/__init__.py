"""Generators of sample data (synthetic; see each module's docstring)."""

from slipway.samples.bank_marketing import COLUMNS, bank_marketing, write_bank_marketing_csv

__all__ = ["COLUMNS", "bank_marketing", "write_bank_marketing_csv"]
