"""ezhifu.document."""
