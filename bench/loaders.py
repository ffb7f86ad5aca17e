"""What the data set loaders cost (issue #29): load time and peak memory of each data set at full size, read
from files written in the genuine formats at full size (no download: CIFAR-100's 50,000 + 10,000 pickled
images in the release's .tar.gz, MNIST's 70,000 in Keras' mnist.npz, Fashion-MNIST's in the four gzipped
IDX files, and a folder of JPEG photos).

    python -m bench.loaders [--smoke] [--only cifar100 ...] [--folder-images N] [--out bench/results-loaders.json]

Each loader runs in a fresh process: `seconds` is the wall time of `catalog.load` (locate, read, decode,
convert to uint8 32x32x3), `peak_rss_mb` the process's peak resident memory (VmHWM) and
`baseline_rss_mb` that of the same process before loading (Python, numpy, Pillow, scikit-learn imported),
so `peak_rss_mb - baseline_rss_mb` is what loading took. `result_mb` is the size of the arrays it returns.
The files are written to a temporary folder and removed afterwards; writing them is not timed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the genuine Python 2 pickle writer the tests use (cifar_writers)

CHILD = """
import json, sys, time
from cifar_tui.engine.data import catalog
import numpy, PIL.Image, sklearn  # imported before the baseline: what any run has loaded

def high_water_mb():  # VmHWM: this process's peak RSS (ru_maxrss would carry the parent's over from fork)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024

baseline = high_water_mb()
started = time.perf_counter()
ds = catalog.load(sys.argv[1], sys.argv[2])
seconds = time.perf_counter() - started
peak = high_water_mb()
arrays = (ds.x_train, ds.y_train, ds.x_test, ds.y_test)
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak, "baseline_rss_mb": baseline,
                  "result_mb": sum(a.nbytes for a in arrays) / 2**20, "train": len(ds.y_train),
                  "test": len(ds.y_test), "shape": list(ds.x_train.shape[1:])}))
"""


def digits_like(n: int, seed: int) -> np.ndarray:
    """uint8 (n, 28, 28) like MNIST: black, with about 19% of the pixels of the central 20x20 lit at random
    grey levels (so the files compress about as the real ones do: mnist.npz is 11 MB for 70,000 images)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    centre = rng.integers(1, 256, (n, 20, 20)) * (rng.random((n, 20, 20)) < 0.3)
    images[:, 4:24, 4:24] = centre.astype(np.uint8)
    return images


def write_cifar100(folder: Path, n_train: int, n_test: int) -> Path:
    from cifar_writers import py2_pickle, to_rows

    rng = np.random.default_rng(0)
    src = folder / "cifar-100-python"
    src.mkdir(parents=True)
    for name, n in (("train", n_train), ("test", n_test)):
        fine = np.arange(n) % 100
        images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        (src / name).write_bytes(py2_pickle({b"fine_labels": [int(v) for v in fine],
                                             b"coarse_labels": [int(v) // 5 for v in fine], b"data": to_rows(images)}))
    (src / "meta").write_bytes(py2_pickle({b"fine_label_names": [b"c%d" % i for i in range(100)],
                                           b"coarse_label_names": [b"s%d" % i for i in range(20)]}))
    archive = folder / "cifar-100-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(src.iterdir()):
            tar.add(path, arcname=f"cifar-100-python/{path.name}")
    for path in src.iterdir():
        path.unlink()
    src.rmdir()
    return folder


def write_mnist(folder: Path, n_train: int, n_test: int) -> Path:
    folder.mkdir(parents=True)
    labels = np.arange(n_train + n_test, dtype=np.uint8) % 10
    images = digits_like(n_train + n_test, 1)
    with open(folder / "mnist.npz", "wb") as f:  # Keras' file is compressed (11 MB)
        np.savez_compressed(f, x_train=images[:n_train], y_train=labels[:n_train], x_test=images[n_train:],
                            y_test=labels[n_train:])
    return folder


def write_fashion(folder: Path, n_train: int, n_test: int) -> Path:
    target = folder / "fashion-mnist"
    target.mkdir(parents=True)
    for prefix, n, seed in (("train", n_train, 2), ("t10k", n_test, 3)):
        images, labels = digits_like(n, seed), np.arange(n, dtype=np.uint8) % 10
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
            (target / f"{prefix}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + array.tobytes(), 6))
    return folder


def write_folder(folder: Path, n_images: int, size: tuple[int, int] = (640, 480)) -> Path:
    """`n_images` JPEG photos-like images (smooth colour fields with noise, quality 90) in 10 class folders."""
    from PIL import Image

    rng = np.random.default_rng(4)
    for i in range(n_images):
        cls = folder / f"class{i % 10}"
        cls.mkdir(parents=True, exist_ok=True)
        coarse = rng.uniform(0, 255, (6, 8, 3)).astype(np.uint8)
        image = Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)
        noisy = np.clip(np.asarray(image, np.int16) + rng.integers(-12, 13, (size[1], size[0], 3)), 0, 255)
        Image.fromarray(noisy.astype(np.uint8)).save(cls / f"photo{i:05d}.jpg", quality=90)
    return folder


def measure(dataset: str, folder: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD, dataset, str(folder)], capture_output=True, text=True,
                         env=env, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["files_mb"] = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: seconds")
    parser.add_argument("--folder-images", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", nargs="*", default=None, help="cifar100 mnist fashion_mnist folder")
    args = parser.parse_args()
    train, test, photos = (600, 100, 50) if args.smoke else (None, 10_000, args.folder_images)
    writers = {"cifar100": (write_cifar100, train or 50_000), "mnist": (write_mnist, train or 60_000),
               "fashion_mnist": (write_fashion, train or 60_000)}
    results = {}
    with tempfile.TemporaryDirectory(prefix="cifar-tui-loaders-") as tmp:
        for name, (write, n_train) in writers.items():
            if args.only and name not in args.only:
                continue
            folder = write(Path(tmp) / name, n_train, test)
            results[name] = measure(name, folder)
            print(f"{name}: {json.dumps(results[name])}", flush=True)
        if not args.only or "folder" in args.only:
            folder = write_folder(Path(tmp) / "photos", photos)
            results["folder"] = {**measure("folder", folder), "image_size": "640x480 JPEG"}
            print(f"folder: {json.dumps(results['folder'])}", flush=True)
    record = {"when": time.strftime("%Y-%m-%d %H:%M"), "load_average": os.getloadavg(), "cpus": os.cpu_count(),
              "smoke": args.smoke, "results": results}
    if args.out:
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
