"""A run's report: the exported folder (tables, HTML, CSV), its figures and galleries, and the way every
view writes a duration. Imports the engine's analysis, data and run state (the verdict lazily); matplotlib."""
