"""Image-classification tasks: Fashion-MNIST (offline, Debian's package) and CIFAR-10 (your
files); the IDX and CIFAR readers, the data sources, the models and the task family."""

from benchmarks.tasks.images import task  # noqa: F401  (registers the tasks)
