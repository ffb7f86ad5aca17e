"""Rich renderings shared by the CLI and the app: the tables of runs and strategies, the config diff, and
output that works on any terminal. Imports the engine and Rich; never Textual, app/ or cli/."""
