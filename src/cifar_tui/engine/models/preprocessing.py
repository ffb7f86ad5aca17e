"""What the network sees, computed inside the model: augmentation and resize as Keras layers.

The feeder (`engine/data/feeder.py`) hands every model uint8 batches at the data set's native size
(B, 32, 32, 3); the first layers of every model turn them into what the network was built for:

    uint8 (B, h, w, 3) -> `Augment` (training only) -> `Resize` (always) -> float32 (B, size, size, 3) in [0, 255]

So augmentation and the resize run on whatever device the model is on (3 KB of uint8 per image crosses
to it, not 602 KB of float32 at 224 px), and training, validation, the test set, the linear probe and the
feature cache all see images through the same `Resize` layer: one definition of "what the network sees".

Written with `keras.ops` and `keras.random` only, so the layers run under the TensorFlow, JAX and PyTorch
backends alike; random draws come from a `keras.random.SeedGenerator` seeded from the run's seed, so the
same seed gives the same augmented batches in the same order.

The augmentation is the standard CIFAR one (He et al. 2016; airbench): each image translated by a whole
number of pixels, up to `MAX_SHIFT` each way (reflect-pad by 4, crop at a random offset), and mirrored
left-right for about half of them. It is one gather, so it is exact: no image is interpolated (a
sub-pixel shift would blur every training image while validation and test images stay sharp).
"""

from __future__ import annotations

import keras
from keras import layers, ops

MAX_SHIFT = 4  # pixels, the classic CIFAR crop augmentation (pad 4, crop 32)
# What each augmentation does (a data set declares one: engine/data/sources.py).
AUGMENTATIONS = {
    "flip+translate": dict(flip=True, shift=MAX_SHIFT),
    "translate": dict(flip=False, shift=MAX_SHIFT),
    "flip": dict(flip=True, shift=0),
    "none": dict(flip=False, shift=0),
}
# The same augmentation without its translation (frozen and finetune with `transfer_translate = false`)
WITHOUT_TRANSLATION = {"flip+translate": "flip", "translate": "none", "flip": "flip", "none": "none"}
INPUT_NAME = "pixels_uint8"
AUGMENT_LAYER = "augment"
RESIZE_LAYER = "resize"
BACKBONE_CALL = "backbone_call"  # the layer of a transfer model that calls its backbone (models/transfer.py)


@keras.saving.register_keras_serializable(package="cifar_tui")
class Augment(layers.Layer):
    """Random whole-pixel translation (reflect padding) and, with `flip`, a left-right mirror.

    Input and output: (B, h, w, C), any dtype (uint8 from the feeder), same shape and dtype: every output
    pixel is an input pixel. Each image is shifted by (dy, dx), both uniform in [-shift, shift], and
    mirrored with probability 1/2 when `flip`. Active only in training (`training=True`, as `fit` passes);
    the identity otherwise, and with shift 0 and no flip. Draws come from a `SeedGenerator(seed)`.
    """

    def __init__(self, shift: int = MAX_SHIFT, flip: bool = True, seed: int | None = None, **kwargs):
        kwargs.setdefault("name", AUGMENT_LAYER)
        super().__init__(autocast=False, **kwargs)
        self.shift, self.flip, self.seed = int(shift), bool(flip), seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def call(self, images, training=None):
        if not training or (self.shift == 0 and not self.flip):
            return images
        n = ops.shape(images)[0]
        offsets = keras.random.randint((n, 2), 0, 2 * self.shift + 1, dtype="int32", seed=self.seed_generator)
        mirrored = keras.random.uniform((n, 1), seed=self.seed_generator) < 0.5 if self.flip else None
        return self.apply_draw(images, offsets, mirrored)

    def apply_draw(self, images, offsets, mirrored=None):
        """`images` (B, h, w, C) translated by `offsets` (B, 2) int32, each in [0, 2 * shift] (shift + dy, shift
        + dx: the crop's corner in the reflect-padded image) and, where `mirrored` (B, 1) bool, mirrored. The
        layer's draws go through here, and so do the feature cache's (its views are this layer's images)."""
        shape = ops.shape(images)
        n, h, w = shape[0], images.shape[1] or shape[1], images.shape[2] or shape[2]
        s = self.shift
        padded = ops.pad(images, [[0, 0], [s, s], [s, s], [0, 0]], mode="reflect") if s else images
        rows = offsets[:, :1] + ops.arange(h, dtype="int32")[None, :]  # (B, h): source row of each output row
        cols = offsets[:, 1:] + ops.arange(w, dtype="int32")[None, :]  # (B, w)
        if mirrored is not None:
            cols = ops.where(mirrored, ops.flip(cols, axis=1), cols)
        # One gather over the flattened padded batch: index of (b, row, col) = (b * H' + row) * W' + col.
        hp, wp = h + 2 * s, w + 2 * s
        batch = ops.arange(n, dtype="int32")[:, None, None] * (hp * wp)
        index = batch + rows[:, :, None] * wp + cols[:, None, :]  # (B, h, w)
        flat = ops.reshape(padded, (-1, ops.shape(images)[-1]))
        out = ops.take(flat, ops.reshape(index, (-1,)), axis=0)  # (B * h * w, C)
        return ops.reshape(out, (-1, h, w, images.shape[-1] or shape[-1]))

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, images, training=None):
        return keras.KerasTensor(images.shape, dtype=images.dtype)

    def get_config(self):
        return {**super().get_config(), "shift": self.shift, "flip": self.flip, "seed": self.seed}


@keras.saving.register_keras_serializable(package="cifar_tui")
class Resize(layers.Layer):
    """(B, h, w, C) pixels, any dtype, in [0, 255] -> float32 (B, size, size, C) in [0, 255].

    Bilinear (no antialiasing: CIFAR is upsampled), the identity (a cast) at the native size. Active in
    training and inference alike. Scaling is left to the network: Keras' EfficientNet rescales its own input
    and the scratch CNN starts with `Rescaling(1/255)`.
    """

    def __init__(self, size: int, **kwargs):
        kwargs.setdefault("name", RESIZE_LAYER)
        kwargs.setdefault("dtype", "float32")
        super().__init__(autocast=False, **kwargs)
        self.size = int(size)
        self.built = True

    def call(self, images):
        x = ops.cast(images, "float32")
        if images.shape[1] == self.size and images.shape[2] == self.size:
            return x
        return ops.image.resize(x, (self.size, self.size), interpolation="bilinear")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def model_input(native_size: int = 32) -> keras.KerasTensor:
    """The input every model takes: uint8 (B, native_size, native_size, 3), as the feeder hands it."""
    return keras.Input(shape=(native_size, native_size, 3), dtype="uint8", name=INPUT_NAME)


def preprocess(inputs, size: int, augment: str = "none", seed: int | None = None):
    """The model's first layers on `inputs` (uint8 native size): `Augment` per `augment` (a key of
    `AUGMENTATIONS`; none for "none"), then `Resize` to `size`. Returns float32 (B, size, size, 3)."""
    x = inputs
    kind = AUGMENTATIONS[augment]
    if kind["shift"] or kind["flip"]:
        x = Augment(kind["shift"], kind["flip"], seed=seed)(x)
    return Resize(size)(x)


def backbone_input(model, images, training: bool = False):
    """What `model`'s backbone receives for uint8 `images` (B, h, w, 3): the model's own layers up to the
    layer that calls its backbone (`BACKBONE_CALL`), i.e. `Augment` (only when `training`), `Resize` and,
    in the divide-by-255 ablation, its `Rescaling`. float32 (B, size, size, 3). The one way to feed a
    backbone outside its model (AdaBN, the fine-tuning analysis): a sub-model of the same layers, so
    nothing the model does to its input can be left out (issue #24: AdaBN once skipped the divide)."""
    front = keras.Model(model.inputs[0], model.get_layer(BACKBONE_CALL).input, name="backbone_input")
    return front(images, training=training)


def reseed(model, seed: int) -> None:
    """Restart `model`'s augmentation stream from `seed` (a resumed strategy reseeds with its epoch)."""
    if AUGMENT_LAYER in {layer.name for layer in model.layers}:
        generator = model.get_layer(AUGMENT_LAYER).seed_generator
        generator.state.assign(keras.random.SeedGenerator(seed).state.value)


def augmentation(config) -> str:
    """The training augmentation a config asks for, as a key of `AUGMENTATIONS`; "auto" (resolved by the
    runner to the data set's own; unresolved in unit tests) counts as CIFAR's "flip+translate"."""
    return "flip+translate" if config.augment == "auto" else config.augment
