"""`python -m tui` is `cifar-tui`."""

from tui.cli import main

main()
