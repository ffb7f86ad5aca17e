"""What each knob of an ExperimentConfig may be: the named choices and the upper bounds its checks
(engine/config/checks.py) enforce."""

from __future__ import annotations

DEFAULT_STRATEGIES = ("scratch", "frozen", "finetune")
# "probe": a logistic-regression linear probe of the frozen features (issue #18), off unless chosen
STRATEGIES = (*DEFAULT_STRATEGIES, "probe")
# engine/data/catalog.py says what each is and where it is found; "folder": your images, one folder per class
DATASETS = ("cifar10", "cifar100", "cifar100_coarse", "fashion_mnist", "mnist", "digits", "folder")
# EfficientNetB0 downsamples 32x: below 32 px its last feature map would be empty.
MIN_EFFICIENTNET_SIZE = 32
# Upper bounds, so that a typo is refused in one line before TensorFlow loads instead of failing deep inside
# numpy or TensorFlow after a run folder was written. Seeds: numpy accepts 0..2**32-1 and the engine adds
# small offsets (epoch reseeding on resume, split seeds), so the seed itself stops at 2**31-1.
MAX_SEED = 2**31 - 1
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 65_536
MAX_IMAGE_SIZE = 1024  # CIFAR's 32 px upsampled 32x; beyond, one batch no longer fits any GPU
MAX_STEPS_PER_EXECUTION = 10_000
MAX_HEAD_UNITS = 65_536
MAX_IMAGES = 10_000_000  # per class (--train-per-class) or in the test subset (--test-limit): far above any set
AUGMENTS = ("auto", "flip+translate", "translate", "flip", "none")
AIRBENCH_MODELS = ("airbench", "airbench_muon")  # airbench94 (Jordan 2024) and airbench94_muon (its record)
SCRATCH_MODELS = ("cnn", "notebook", *AIRBENCH_MODELS)
