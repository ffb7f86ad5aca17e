"""What a run asks for and what ran: the experiment configuration and its checks, the presets, the
effective configuration of a recorded run, and the keys that differ between runs. Imports runtime/ at module
level; store/ and training/ only inside the checks that need them (no TensorFlow at import)."""
