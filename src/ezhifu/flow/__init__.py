"""ezhifu.flow."""
