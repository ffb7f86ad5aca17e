"""The Typer CLI (`cifar-tui`): headless runs, run history, studies, Slurm, the cache, and the launch of the
app. Imports the engine and render/; the app only where a command starts it (never at module level for quick
commands, which import no TensorFlow)."""
