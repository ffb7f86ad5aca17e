"""The one configuration of an experiment: every knob, its default, and why.

A run is fully described by an `ExperimentConfig`; it is stored as `config.json` in the run folder so a
run can be read, compared and repeated later. Presets are named sets of overrides on the defaults, and
flags override presets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from cifar_tui.engine.config.checks import check_values
from cifar_tui.engine.config.choices import AIRBENCH_MODELS, DEFAULT_STRATEGIES
from cifar_tui.engine.errors import ConfigError


@dataclass
class ExperimentConfig:
    # --- what to run --------------------------------------------------------------------------------
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES  # run in this order; add "probe" for the linear probe
    preset: str = "custom"  # the preset these values came from (recorded, not used for logic)
    name: str = ""  # optional human name; becomes part of the run id (letters, digits, . _ - only)
    seed: int = 0  # seeds the split, the subsets, shuffling, augmentation and weight init

    # --- data ---------------------------------------------------------------------------------------
    dataset: str = "cifar10"  # one of DATASETS; "digits" is scikit-learn's bundled 8x8 digits (offline)
    data_dir: str | None = None  # a local copy of the data set (any layout it ships in, or a folder holding
    #                              it, Keras' cache included); for "folder", the folder of class folders
    val_fraction: float = 0.1  # share of the training set held out for model selection (see val_from)
    train_fraction: float = 1.0  # stratified share of the images outside validation to train on, in (0, 1]
    # Or (not both): k training images per class, drawn class-balanced and seeded from the images outside
    # the validation set (BiT's k-shot protocol, Kolesnikov et al. 2020: 1/class trains on 10 images).
    train_per_class: int | None = None
    # Where validation comes from. "full": carved from the full training set BEFORE subsetting, so every
    # subset (1/class to all) selects on the same validation set. "subset": carved from the subset (the
    # order before 11/2026, and the quick preset's cheap 2,000-image recipe: train_per_class is then the
    # subset's size per class, validation included).
    val_from: str = "full"
    test_limit: int | None = None  # evaluate on a stratified subset of the test set (quick runs only)
    # Training batches only (never val/test). "auto": the data set's own declaration (CIFAR-10/100 and
    # Fashion-MNIST: integer translation by up to 4 px (pad and crop) + horizontal flip; MNIST and digits:
    # translation only, a mirrored digit is another symbol; an image folder: translation only, as its content
    # is unknown). Or "flip+translate", "translate", "none". True/False mean "auto"/"none".
    augment: str = "auto"

    # --- input sizes --------------------------------------------------------------------------------
    scratch_image_size: int = 32  # a from-scratch CNN belongs at CIFAR's native resolution
    transfer_image_size: int = 224  # EfficientNet was pretrained at 224; smaller is faster and worse

    # --- optimisation -------------------------------------------------------------------------------
    batch_size: int = 64
    scratch_epochs: int = 20
    scratch_lr: float = 1e-3  # Adam's peak rate for the scratch CNN
    scratch_schedule: str = "cosine"  # "cosine": linear warm-up then cosine decay over the phase; "constant"
    transfer_schedule: str = "constant"  # frozen/finetune phases: "constant" (the Keras guide's) or "cosine"
    frozen_epochs: int = 5
    frozen_lr: float = 1e-3  # Adam, head only
    head_epochs: int = 2  # fine-tune phase 1: train the new head on the frozen backbone
    head_lr: float = 1e-3
    finetune_epochs: int = 5  # fine-tune phase 2: backbone unfrozen, end to end
    finetune_lr: float = 1e-5  # very small, so the pretrained features are adapted, not forgotten
    unfreeze_blocks: int = 0  # phase 2 unfreezes the top N of EfficientNet's 7 blocks; 0 = all of them
    dropout: float = 0.2  # before the classifier of our scratch CNN and of the transfer head
    head_units: int = 0  # transfer head: 0 = pooling straight into the classifier; N = a Dense(N, relu) first
    stochastic_depth: bool = False  # EfficientNet's drop-connect (rate 0.2) active in training; off: the
    #                                 backbone is a fixed feature extractor (frozen) or adapted gently (finetune)
    finetune_from: str = ""  # "": finetune builds its own head (phase 1); "frozen": it continues the frozen
    #                          strategy's trained model (the notebook's way), head_epochs unused
    keep: str = "best"  # weights tested at the end: "best" validation epoch, or the "last" epoch (the notebook)
    finetune_patience: int = 0  # >0: finetune's unfrozen phase stops once the validation loss has not improved
    #                             for this many epochs and restores its lowest-loss weights (Keras'
    #                             EarlyStopping, as TL_EfficientNet_1.ipynb); 0: off

    frozen_features: str = "cached"  # "cached": while the backbone is frozen (frozen, finetune's head phase,
    #                                  probe) its pooled features are extracted (cached under the runs folder)
    #                                  and the head trains on them: each epoch on the features of that epoch's
    #                                  augmented images (exact: the same augmentation as live, issue #24);
    #                                  "live": the backbone runs on every augmented batch
    transfer_translate: bool = True  # False: frozen and finetune train without translation in every phase
    #                                  (flips only, where the data set flips): cached phases then need at
    #                                  most two views per image instead of one per epoch; scratch keeps it

    # --- pretrained weights -------------------------------------------------------------------------
    weights: str = "imagenet"  # "imagenet" (Keras cache, then download), a path to a notop file, "none"

    # --- deliberate mistakes, for ablations (off by default; runs using them are labelled) ----------
    input_scaling: str = "raw"  # "raw": [0,255] into EfficientNet (right); "unit": /255 first (mistake)
    bn_mode: str = "inference"  # "inference": backbone BN frozen (right); "train": BN updates (mistake)
    select_on: str = "val"  # "val": model selection on a split of train (right); "test": on the test set (leak)
    scratch_model: str = "cnn"  # "cnn": ours (GAP head); "notebook": Flatten into Dense(128), as the notebook;
    #                             "airbench": airbench94's net and recipe (Jordan 2024), a strong baseline;
    #                             "airbench_muon": airbench94_muon (the same net trained with Muon), the record
    airbench_epochs: float | None = None  # replaces scratch_epochs; None: the reference's (airbench94 9.9,
    #                                      airbench94_muon 8); a fraction ends inside the last epoch
    airbench_batch_size: int | None = None  # None: the reference's (1,024 / 2,000); never more than the training
    #                                         set (learning rates follow the batch actually used)

    # --- analysis -----------------------------------------------------------------------------------
    finetune_analysis: bool = True  # after fine-tuning: per-block weight change and CKA vs the start
    # Before training: how far the data set is from ImageNet as the pretrained backbone sees it (a KL divergence
    # of per-layer feature statistics from its BatchNorm statistics; engine/analysis/domain_distance.py),
    # recorded with the data set. The `domains` study turns it on.
    domain_distance: bool = False

    # --- execution ----------------------------------------------------------------------------------
    # The Keras backend: "tensorflow" (the default, and what runs recorded before it existed ran on), "jax"
    # or "torch". Fixed per process at keras' first import (engine/runtime/backend.py); tf.distribute (`gpus`) and
    # `tensorboard` need TensorFlow and are refused on the others.
    backend: str = "tensorflow"
    precision: str = "auto"  # "float32", "mixed" (float16 compute, float32 outputs), "auto": mixed on a GPU
    jit: bool | None = None  # XLA. None: where Keras' jit_compile="auto" turns it on (GPUs, JAX), never for
    #                          TensorFlow on a CPU (measured slower there); the resolved value is recorded
    steps_per_execution: int = 1  # batches per compiled call: cuts Python overhead for small models on GPUs
    gpus: str = ""  # "": one device; "all" / "0,1": MirroredStrategy; "cpu:N": N logical CPUs (tests)
    scale_lr: bool = True  # with N replicas the global batch is N x batch_size: learning rates x N
    checkpoints: bool = True  # save the last and the best epoch in the run folder, for `cifar-tui resume`
    tensorboard: bool = False  # also write TensorBoard scalars into the run folder (tensorboard/<strategy>)
    run_eagerly: bool = False  # debugging and fast tests: skips graph building, much slower per step
    allow_fallback: bool = False  # `make run` only: use digits / random init when CIFAR-10 / ImageNet
    #                               weights cannot be had, and say so everywhere. Never for `paper`.

    # ------------------------------------------------------------------------------------------------
    @property
    def needs_backbone(self) -> bool:
        """Some strategy reads the EfficientNetB0 backbone, or the domain distance does: weights are needed."""
        return any(s != "scratch" for s in self.strategies) or self.domain_distance

    def image_size_for(self, strategy: str) -> int:
        return self.scratch_image_size if strategy == "scratch" else self.transfer_image_size

    def mistakes(self, strategy: str | None = None) -> list[str]:
        """Deliberate deviations from the correct recipe, in words, for labels on every screen.

        With `strategy`, only those that change that strategy; without, those that change any chosen
        strategy, each followed by the strategies it changes, e.g. "... (finetune)".
        """
        if strategy is None:
            out: dict[str, list[str]] = {}
            for name in self.strategies:
                for mistake in self.mistakes(name):
                    out.setdefault(mistake, []).append(name)
            return [f"{m} ({', '.join(names)})" for m, names in out.items()]
        out_one = []
        transfer = strategy in ("frozen", "finetune")
        if self.input_scaling == "unit" and (transfer or strategy == "probe"):
            out_one.append("input divided by 255 before EfficientNet (double rescaling)")
        # Keras 3 BatchNorm runs in inference mode whenever the layer is not trainable, so "train" only
        # changes a backbone that is unfrozen: finetune's second phase, and only over pretrained statistics.
        if self.bn_mode == "train" and strategy == "finetune" and self.weights.strip().lower() != "none":
            out_one.append("BatchNorm updating its statistics while fine-tuning")
        if self.select_on == "test":
            out_one.append("the test set used as validation data" + (
                " (model selection on test: optimistic)" if self.keep == "best" else
                " (reported each epoch; the last epoch is tested)"))
        if self.scratch_model == "notebook" and strategy == "scratch":
            out_one.append(f"the notebook's scratch CNN (Flatten into Dense(128)) at {self.scratch_image_size} px")
        return out_one

    def no_effect(self) -> list[str]:
        """Knobs set away from the recipe that change none of the chosen strategies, one sentence each."""
        chosen = set(self.strategies)
        transfer = chosen & {"frozen", "finetune"}
        out = []
        if self.input_scaling == "unit" and not transfer and "probe" not in chosen:
            out.append("input scaling 'unit' has no effect: it changes only frozen, finetune and probe")
        if self.bn_mode == "train" and "finetune" not in chosen:
            out.append("bn mode 'train' has no effect on frozen or scratch (a frozen backbone's BatchNorm "
                       "never updates in Keras 3): it changes only finetune")
        elif self.bn_mode == "train" and self.weights.strip().lower() == "none":
            out.append("bn mode 'train' has no effect with --weights none: BatchNorm trains normally from "
                       "random init")
        if self.scratch_model != "cnn" and "scratch" not in chosen:
            out.append(f"scratch model {self.scratch_model!r} has no effect: it changes only scratch")
        if self.scratch_model in AIRBENCH_MODELS and self.scratch_schedule != "cosine":
            out.append("scratch schedule has no effect on airbench: it keeps its own schedule")
        if self.finetune_from == "frozen" and not {"frozen", "finetune"} <= chosen:
            out.append("finetune from 'frozen' needs both frozen and finetune among the strategies")
        elif self.finetune_from == "frozen" and self.strategies.index("frozen") > self.strategies.index("finetune"):
            out.append("finetune from 'frozen' needs frozen to run before finetune")
        if self.finetune_patience and "finetune" not in chosen:
            out.append("finetune patience has no effect: it changes only finetune")
        if not self.transfer_translate and not transfer:
            out.append("transfer translate off has no effect: it changes only frozen and finetune")
        elif not self.transfer_translate and self.augment in ("none", "flip"):
            out.append(f"transfer translate off has no effect: augment {self.augment!r} does not translate")
        if self.frozen_features == "live" and not chosen & {"frozen", "finetune", "probe"}:
            out.append("frozen features 'live' has no effect: it changes only frozen, finetune and probe")
        if (self.stochastic_depth or self.head_units) and not transfer:
            out.append("stochastic depth and head units have no effect: they change only frozen and finetune")
        return out

    def __post_init__(self) -> None:
        if isinstance(self.augment, bool):  # the --augment/--no-augment switch, and configs before 12/2026
            self.augment = "auto" if self.augment else "none"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["strategies"] = list(self.strategies)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config key(s): {', '.join(unknown)}")
        values = dict(data)
        if "strategies" in values:
            values["strategies"] = tuple(values["strategies"])
        return cls(**values)

    def replace(self, **changes: Any) -> ExperimentConfig:
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------------------------------------
    def validate(self) -> ExperimentConfig:
        """Raise `ConfigError` with one plain sentence for the first invalid value; return self."""
        check_values(self)  # every value in range, whether or not the chosen strategies use it (issue #26)
        problems = self.no_effect()
        if problems:
            raise ConfigError(problems[0])
        return self
