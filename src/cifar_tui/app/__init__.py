"""The Textual app: its screens, widgets and styles, the messages the training thread posts to it, and
following a run another process writes. Imports the engine, render/ and Textual; never cli/."""
