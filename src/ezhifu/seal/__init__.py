"""ezhifu.seal."""
