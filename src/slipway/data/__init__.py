"""Tabular data: read CSV/Parquet files and URLs, infer column types, profile columns.

Pure functions on pyarrow Tables; nothing here touches the metadata database.

Example::

    >>> from slipway.data import read_table, infer_schema, profile_table
    >>> table = read_table("train.csv")
    >>> schema = infer_schema(table)
    >>> profile = profile_table(table, schema)
    >>> profile["y"]["top_values"][0]
    {'value': 'no', 'count': 23407}
"""

from slipway.data.profile import profile_table
from slipway.data.read import read_table
from slipway.data.schema import COLUMN_TYPES, ColumnSchema, ColumnType, infer_schema

__all__ = ["COLUMN_TYPES", "ColumnSchema", "ColumnType", "infer_schema", "profile_table", "read_table"]
