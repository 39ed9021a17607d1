from ezhifu.cli.main import main

main()
