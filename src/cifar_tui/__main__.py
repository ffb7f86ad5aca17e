"""`python -m cifar_tui` is `cifar-tui`."""

from cifar_tui.cli.main import main

main()
