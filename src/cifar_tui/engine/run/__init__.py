"""A run's lifecycle and its event stream: the runner `run_experiment(config, sink, stop_event)`, the
session that records and resumes, the typed events and the state folded from them, one-line failures.
Imports the rest of the engine (data, models, training, store, analysis); nothing outside the engine."""
