"""Train a frozen backbone's head on cached pooled features (`frozen_features = "cached"`).

While the backbone is frozen (the `frozen` strategy, finetune's head phase, the probe) it runs in inference
mode, so its pooled features are a function of the image alone: extracting them once and training the head
on them gives the same model as running the backbone every epoch. That holds for the augmentation too: it
happens before the backbone, on uint8 images at their native size, so each epoch's augmented images are
drawn by the model's own `Augment` layer (`engine/training/augmented_views.py`) and their features cached
like any image's: translation and flips are both exact, and the two transfer strategies train with the same
augmentation in every phase (issue #24). Validation uses the cached unaugmented images. The test set is
never cached: a frozen model is tested as its extractor then its head (the same layers; `HeadData.predict`),
a fine-tuned one through the whole model.

The key (see `engine/store/feature_files.py` for the files) is everything the features depend on: a
SHA-256 of all the backbone's weights as built (pretrained file, or random init plus its AdaBN estimate, so
a different weights file or seed never matches), the input size, the input scaling, the compute precision,
the view and the feature width; rows are looked up by image content (an augmented image is looked up by its
own content). Before a cached row is trusted, a few of them are computed again and compared (a cache written
by another Keras/TensorFlow build, or by a bug, is refused, removed and rebuilt).

Shapes: images (N, 32, 32, 3) uint8 -> features (N, D) float32 (D = 1280 for EfficientNetB0).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np

from cifar_tui.engine.data.batches import evaluation_rows, training_steps
from cifar_tui.engine.data.feeder import predict_rows
from cifar_tui.engine.run.events import LogMessage, Sink
from cifar_tui.engine.store.feature_files import KeyFolder, image_digests

SPOT_CHECK_ROWS = 4  # cached rows recomputed before a key folder is trusted
# Tolerance of the spot check, relative to the features' scale: re-running the same network differs by
# float rounding (threads, kernels), a foreign or stale cache by far more.
SPOT_CHECK_RTOL = 1e-2
HEAD_ROWS = 4096  # features per direct call of a head at test time (bounds its activations' memory)


def weights_digest(model) -> str:
    """SHA-256 (hex) of every weight array of `model` (trainable or not, in order)."""
    h = hashlib.sha256()
    for w in model.weights:
        h.update(np.ascontiguousarray(keras.ops.convert_to_numpy(w)).tobytes())
    return h.hexdigest()


def pooled_extractor(model) -> keras.Model:
    """The transfer model up to its `avg_pool` layer (the backbone called in inference mode by predict)."""
    return keras.Model(model.inputs, model.get_layer("avg_pool").output, name="pooled_features")


class _Lookup(NamedTuple):
    """One request of `FeatureCache.views`: its images as seen, their digests, the positions this pass
    extracts, and the key's table, folder, id, view name and how many rows it already held."""

    view: np.ndarray
    digests: np.ndarray
    missing: np.ndarray
    table: dict[bytes, np.ndarray]
    folder: KeyFolder | None
    ident: str
    view_name: str
    hits: int


class FeatureCache:
    """Pooled features per image content, shared by a run's strategies (in memory) and by runs (on disk
    under `root`, None: memory only). `sink` receives one LogMessage per lookup saying what was reused."""

    def __init__(self, root: Path | None, sink: Sink):
        self.root, self.sink = (Path(root) if root is not None else None), sink
        self._tables: dict[str, dict[bytes, np.ndarray]] = {}
        self._unverified: dict[str, set[bytes]] = {}  # per key: digests of rows read from disk, not yet checked

    def features(self, extractor: keras.Model, backbone_digest: str, x: np.ndarray, *, image_size: int,
                 input_scaling: str, precision: str, mirrored: bool, batch_size: int, label: str) -> np.ndarray:
        """(N, D) float32 features of `x` (uint8 (N, h, w, 3)), as is or mirrored left-right."""
        return self.views(extractor, backbone_digest, [(x, mirrored)], image_size=image_size,
                          input_scaling=input_scaling, precision=precision, batch_size=batch_size, label=label)[0]

    def views(self, extractor: keras.Model, backbone_digest: str, requests: list[tuple[np.ndarray, bool]], *,
              image_size: int, input_scaling: str, precision: str, batch_size: int,
              label: str, names: list[str] | None = None) -> list[np.ndarray]:
        """Features of several (uint8 images, mirrored) requests, one (N_i, D) float32 array each. The rows no
        cache holds are extracted in one pass over all requests: one `predict` call has a fixed cost (its
        feeder, a partial last batch padded) that a call per request (each epoch's views, validation) paid
        again. `names` (one per request) name them in the log; by default their key's view."""
        width = int(extractor.output_shape[-1])
        lookups: list[_Lookup] = []
        scheduled: dict[str, set[bytes]] = {}  # per key: digests this pass extracts (an image asked twice: once)
        for request, (x, mirrored) in enumerate(requests):
            key = {"backbone": backbone_digest, "image_size": image_size, "input_scaling": input_scaling,
                   "precision": precision,
                   "view": "mirrored" if mirrored else "as-is", "width": width, "keras": keras.__version__}
            folder = KeyFolder(self.root, key) if self.root is not None else None
            ident = folder.path.name if folder is not None else str(sorted(key.items()))
            table = self._table(ident, folder)
            view = x[:, :, ::-1] if mirrored else x
            digests = image_digests(view)
            listed = digests.tolist()
            unverified = self._unverified.get(ident, set())
            from_disk = [i for i, d in enumerate(listed) if d in unverified]
            if from_disk:  # rows read from disk are trusted once a few of them match this network's
                self._spot_check(extractor, view, digests, from_disk, table, ident, batch_size, folder)
            hits = sum(d in table for d in listed)
            taken = scheduled.setdefault(ident, set())
            missing = []
            for i, d in enumerate(listed):
                if d not in table and d not in taken:
                    taken.add(d)
                    missing.append(i)
            lookups.append(_Lookup(view, digests, np.asarray(missing, dtype=np.int64), table, folder, ident,
                                   names[request] if names else key["view"], hits))
        started = time.perf_counter()
        total = sum(len(lookup.missing) for lookup in lookups)
        rows = extract(extractor, np.concatenate([lk.view[lk.missing] for lk in lookups]), batch_size) \
            if total else None
        seconds = time.perf_counter() - started
        at = 0
        for n, lookup in enumerate(lookups):
            new = lookup.digests[lookup.missing]
            if len(new):
                lookup.table.update(zip(new.tolist(), rows[at:at + len(new)], strict=True))
                if lookup.folder is not None:
                    lookup.folder.add(new, rows[at:at + len(new)])
                at += len(new)
            # the last line of a lookup says what the one pass over the backbone cost
            timing = (f"; {total:,} images through the backbone in {seconds:.1f} s "
                      f"({total / max(seconds, 1e-9):,.0f} img/s)") if total and n == len(lookups) - 1 else ""
            where = lookup.ident[:12] if lookup.folder is not None else "in memory"
            # the rest: pixels this pass extracts once for another image (an epoch whose random translation
            # drew the same shift for an image as an earlier epoch did, or an image given twice)
            repeats = len(lookup.digests) - lookup.hits - len(new)
            shared = f", {repeats:,} identical to an image extracted in this pass" if repeats else ""
            self.sink(LogMessage(level="info", message=(
                f"{label}: features of {lookup.hits:,} images from cache, {len(new):,} extracted{shared} "
                f"({lookup.view_name}, {image_size} px, key {where}){timing}")))
        return [np.stack([lk.table[d] for d in lk.digests.tolist()]) if len(lk.digests)
                else np.zeros((0, width), np.float32) for lk in lookups]

    def _table(self, ident: str, folder: KeyFolder | None) -> dict[bytes, np.ndarray]:
        """A key's rows in memory, read (verified) from its folder the first time it is asked for."""
        table = self._tables.get(ident)
        if table is None:
            table = {}
            if folder is not None:
                for shard in folder.load():
                    table.update(zip(shard.digests.tolist(), shard.features, strict=True))
                for reason in folder.refused:
                    self.sink(LogMessage(level="warning", message=f"feature cache: refused {reason}; rebuilt"))
            self._tables[ident] = table
            self._unverified[ident] = set(table)  # rows this process did not compute: spot-checked before use
        return table

    def _spot_check(self, extractor, view, digests, from_disk, table, ident, batch_size, folder) -> None:
        """Recompute a few of a key's rows read from disk (positions `from_disk` of `view`): equal, the key's
        folder is trusted; different, the folder is removed and every row read from it dropped from `table`
        (in place: other lookups of this pass hold it), to be extracted again. Either way, checked once."""
        unverified, self._unverified[ident] = self._unverified[ident], set()
        sample = np.asarray(from_disk[:SPOT_CHECK_ROWS])
        fresh = extract(extractor, view[sample], batch_size)
        cached = np.stack([table[d] for d in digests[sample].tolist()])
        scale = max(float(np.abs(fresh).max()), 1e-6)
        if np.abs(fresh - cached).max() <= SPOT_CHECK_RTOL * scale:
            return
        self.sink(LogMessage(level="warning", message=(
            f"feature cache: cached features of {ident[:12]} differ from this network's "
            f"(max difference {np.abs(fresh - cached).max():.3g}); refused, removed and extracted again")))
        if folder is not None:
            import shutil

            shutil.rmtree(folder.path, ignore_errors=True)
        for digest in unverified:
            del table[digest]


def extract(extractor: keras.Model, x: np.ndarray, batch_size: int, callbacks: list | None = None) -> np.ndarray:
    """uint8 (N, h, w, 3) -> (N, D) float32. The extractor is the model's own front (`pooled_extractor`):
    its `Resize` layer brings the images to the strategy's size, as in training and evaluation.

    Every batch it sees is full (`predict_rows`: the last one padded, its padding's rows dropped): a batch
    of another shape makes TensorFlow trace the whole backbone again (~3 s per new shape on a CPU) and JAX
    compile it again, once per view, validation set and spot check."""
    return np.asarray(predict_rows(extractor, x, batch_size, callbacks), dtype=np.float32)


def feature_dataset(views, y: np.ndarray, batch_size: int, training: bool = False, seed: int = 0) -> FeatureBatches:
    """Batches of (features (B, D) float32, labels (B,) int32), for `fit` on any backend. `views`: one (N, D)
    array, or a list of them, one per epoch (each epoch's augmented images: `augmented_views`), epoch k
    training on views[k] (cycled when there are fewer). Training: shuffled each epoch, seeded."""
    views = list(views) if isinstance(views, (list, tuple)) else [views]
    return FeatureBatches(views if training else views[:1], y, batch_size, training, seed)


class FeatureBatches(keras.utils.PyDataset):
    """Cached features as a Keras `PyDataset` (numpy batches: no TensorFlow on the other backends).

    Epoch e's features are views[e] and its order a function of (seed, e) alone; Keras calls `on_epoch_end`
    between epochs (before it asks for the next epoch's batches), and iterating the object directly (tests)
    counts as one epoch too."""

    def __init__(self, views: list[np.ndarray], y: np.ndarray, batch_size: int, training: bool, seed: int):
        super().__init__()  # one worker, no processes: a gather per batch is far cheaper than the head's step
        self.views = views
        self.labels = np.asarray(y, dtype=np.int32)
        self.batch_size, self.training, self.seed = batch_size, training, seed
        self.epoch = 0
        self._drawn: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:  # whole batches, as the image feeder's (engine/data/feeder.py)
        n = len(self.labels)
        return training_steps(n, self.batch_size) if self.training else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        if self._drawn is None or self._drawn[0] != self.epoch:
            n = len(self.labels)
            order = np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.training else np.arange(n)
            self._drawn = (self.epoch, order)
        return self._drawn[1]

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        if not self.training:  # in order, the last batch padded, with sample weights
            idx, weights = evaluation_rows(len(self.labels), self.batch_size, index)
            return self.views[0][idx], self.labels[idx], weights
        idx = self._order()[index * self.batch_size:(index + 1) * self.batch_size]
        return self.views[self.epoch % len(self.views)][idx], self.labels[idx]

    def on_epoch_end(self) -> None:
        self.epoch += 1

    def __iter__(self):
        yield from (self[i] for i in range(len(self)))
        self.on_epoch_end()


class ModelView:
    """What the best-epoch tracker and the checkpointer see while only the head is fitted: the full
    model's weights (so best weights and checkpoints are whole models, as in a live run) and the fitted
    model's optimizer and flags."""

    def __init__(self, full, fitted):
        object.__setattr__(self, "_full", full)
        object.__setattr__(self, "_fitted", fitted)

    def get_weights(self):
        return self._full.get_weights()

    def set_weights(self, weights):
        self._full.set_weights(weights)

    def __getattr__(self, name):
        return getattr(self._fitted, name)

    def __setattr__(self, name, value):
        setattr(self._fitted, name, value)


def pin_model(callback, view) -> None:
    """Make `fit` hand `callback` the `view` instead of the model being fitted."""
    callback.set_model = lambda _model: setattr(callback, "_model", view)


class HeadData(NamedTuple):
    """A frozen-backbone phase on cached features: the model's head (its layers after `avg_pool`), the
    training and validation feature batches, and the extractor that made them (the model's own front)."""

    head: keras.Model
    train: FeatureBatches
    val: FeatureBatches
    extractor: keras.Model

    def predict(self, x: np.ndarray, batch_size: int, callbacks: list | None = None) -> np.ndarray:
        """(N, C) class probabilities of uint8 images `x`: the whole model in inference mode, run as its two
        halves (the same layers and weights, `test_the_head_fitted_on_features_is_the_full_models_head`).
        The extractor's compiled predict is reused, where the whole model would be traced anew (~4-5 s on a
        CPU). Never cached: the test set is seen once."""
        features = extract(self.extractor, x, batch_size, callbacks)
        # The head called directly, not through `predict`: a few dense layers on (N, D) features cost less
        # than tracing a predict function for them (~0.5 s on a CPU), on any backend.
        chunks = [keras.ops.convert_to_numpy(self.head(features[i:i + HEAD_ROWS], training=False))
                  for i in range(0, len(features), HEAD_ROWS)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.head.output_shape[-1]), np.float32)


def cached_head_data(model, backbone, data, cache: FeatureCache, config, strategy: str, image_size: int,
                     batch_size: int, seed: int, sink: Sink, epochs) -> HeadData:
    """The head, its training and validation feature batches, and the extractor, for a frozen-backbone phase
    on cached features over `epochs` (1-based, the ones this fit runs). `model`/`backbone`: a `transfer_model`
    model and its backbone (BatchNorm statistics final). Each epoch trains on the features of that epoch's
    augmented images, drawn by the model's own `Augment` layer (`augmented_views`; the draws keyed by
    `config.seed`, the epoch and the image), `seed` shuffles."""
    from cifar_tui.engine.models.preprocessing import AUGMENT_LAYER
    from cifar_tui.engine.models.transfer import head_model
    from cifar_tui.engine.store.feature_files import image_digests
    from cifar_tui.engine.training.augmented_views import epoch_views

    extractor = pooled_extractor(model)
    digest = weights_digest(backbone)
    layer = model.get_layer(AUGMENT_LAYER) if AUGMENT_LAYER in {x.name for x in model.layers} else None
    epochs = list(epochs)
    views = epoch_views(layer, data.x_train, image_digests(data.x_train), config.seed, epochs)
    common = dict(image_size=image_size, input_scaling=config.input_scaling, precision=config.precision,
                  batch_size=batch_size, label=strategy)
    augmented = bool(layer is not None and (layer.shift or layer.flip))
    if not augmented:  # one view serves every epoch
        views = views[:1]
    names = [f"epoch {e} augmented training images" for e in epochs] if augmented else ["training images"]
    names.append("validation images")
    *train, val = cache.views(extractor, digest, [(v, False) for v in views] + [(data.x_val, False)], names=names,
                              **common)
    if augmented:
        kind = " and ".join(k for k, on in (("translated", layer.shift), ("mirrored", layer.flip)) if on)
        sink(LogMessage(level="info", message=f"{strategy}: head trained on cached features of each epoch's "
                                              f"augmented images ({kind} by the model's own layer: exact)"))
    return HeadData(head_model(model), feature_dataset(train, data.y_train, batch_size, True, seed),
                    feature_dataset(val, data.y_val, batch_size), extractor)
