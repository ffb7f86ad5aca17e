"""cifar-tui: when and why transfer learning beats training from scratch, run and shown in the terminal.

engine/ (the experiment: no Textual, no Rich), render/ (Rich views shared by both front ends), app/ (the
Textual app), cli/ (the Typer CLI, the `cifar-tui` command). Nothing is imported here: quick commands stay quick.
"""
