"""The process's environment: the Keras backend, the environment facts a run records, the allocator and
memory probes, native stderr capture, downloads. Imports nothing else of the engine but errors.py."""
