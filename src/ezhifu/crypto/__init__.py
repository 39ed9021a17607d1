"""ezhifu.crypto."""
