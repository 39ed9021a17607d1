"""ezhifu.keystore."""
