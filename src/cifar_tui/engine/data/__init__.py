"""Data: genuine CIFAR-10 readers, sources (local, cache, download, digits), splits and tf.data pipelines."""
