"""The `slipway` command line: one module per command group."""
