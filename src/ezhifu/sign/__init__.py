"""ezhifu.sign."""
