"""Fashion-MNIST and MNIST from local files, with clear errors (used by every notebook of the course).

Both loaders return ``((X_train, y_train), (X_valid, y_valid), (X_test, y_test))``: ``X`` float32 in
[0, 1] of shape ``(n, 28, 28)``, ``y`` int64 labels 0..9 of shape ``(n,)``. The split is the course's:
the first 5,000 training images are the validation set, the other 55,000 the training set, the
10,000 ``t10k`` images the test set.

Where the files are looked for, in order (a directory may hold the four IDX files gzipped or not;
for MNIST it may hold Keras' ``mnist.npz`` instead):

1. the ``data_dir`` argument: if given, only there, and a :class:`DataError` at once if not found;
2. ``$FASHION_MNIST_DIR`` (``$MNIST_DIR``): the directory holding the files, then
   ``$COURSE_DATA_DIR/fashion-mnist`` (``$COURSE_DATA_DIR/mnist``);
3. the Keras cache ``$KERAS_HOME`` or ``~/.keras``: ``datasets/fashion-mnist`` (``datasets/mnist``,
   then ``datasets/mnist.npz``);
4. Debian's ``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``;
   ``/usr/share/datasets/mnist`` for MNIST);
5. a download with ``keras.utils.get_file`` into the Keras cache (Keras is imported only then).

The full arrays are parsed once and kept in memory; they are returned read-only (``.copy()`` them
before changing them in place). Subsets are new, writable arrays. Importing this module imports
neither TensorFlow, PyTorch nor Keras.
"""
import gzip
import math
import os
import socket
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["CLASS_NAMES", "DataError", "load_fashion_mnist", "load_mnist"]

#: The ten Fashion-MNIST class names, indexed by label (for plots and confusion matrices).
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

_N_VALID = 5000
_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_SETS = {"fashion": {"title": "Fashion-MNIST", "sub": "fashion-mnist", "env": "FASHION_MNIST_DIR",
                     "npz": None},
         "mnist": {"title": "MNIST", "sub": "mnist", "env": "MNIST_DIR", "npz": "mnist.npz"}}
# Step 4, a module attribute so that tests can point it elsewhere.
_SYSTEM_DIRS = {"fashion": [Path("/usr/share/datasets/fashion-mnist")],
                "mnist": [Path("/usr/share/datasets/mnist")]}
_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_TIMEOUT = 30  # seconds without an answer before the download gives up
_FIX = ("Re-install it (`sudo apt-get install --reinstall dataset-fashion-mnist` for the Debian "
        "files), or delete it so that it is downloaded again, or replace it with a good copy.")
_CACHE = {}  # key: the resolved files with their size and mtime; value: the four read-only arrays


class DataError(RuntimeError):
    """A data set is missing or one of its files is damaged; the message says which and what to do."""


def load_fashion_mnist(data_dir=None, subset=None):
    """Fashion-MNIST as ``((X_train, y_train), (X_valid, y_valid), (X_test, y_test))``.

    The data set of every notebook of the course (55,000 / 5,000 / 10,000 images). ``data_dir`` is a
    directory holding the four IDX files (gzipped or not); ``None`` searches the places listed in the
    module docstring. ``subset`` picks a class-balanced part of each split (see :func:`_subset_sizes`):
    ``None`` (everything), an int ``n`` (``n`` training images, valid and test scaled in proportion) or
    a dict ``{"train": n, "valid": m, "test": k}``.
    """
    return _load("fashion", data_dir, subset)


def load_mnist(data_dir=None, subset=None):
    """MNIST digits, exactly like :func:`load_fashion_mnist` (for comparisons with the digits).

    MNIST is not packaged for offline use: it needs an internet connection (Keras downloads
    ``mnist.npz`` into its cache) or the files placed by hand.
    """
    return _load("mnist", data_dir, subset)


def standardize(X_train, *others, eps=1e-3):
    """Per-pixel standardization with the training set's statistics: ``(X - mean) / (std + eps)``.

    Returns the standardized training set followed by each of ``others``, all float32. ``eps`` keeps
    the always-black border pixels (std 0) finite. Used by the sigmoid chapter's tanh network, whose
    inputs Glorot & Bengio standardized.
    """
    mean, std = X_train.mean(axis=0), X_train.std(axis=0) + eps
    return tuple(((X - mean) / std).astype(np.float32) for X in (X_train, *others))


def _load(name, data_dir, subset):
    """Locate, parse (once), split and subset one set."""
    X_full, y_full, X_test, y_test = _parse_cached(_locate(name, data_dir))
    splits = [(X_full[_N_VALID:], y_full[_N_VALID:]), (X_full[:_N_VALID], y_full[:_N_VALID]),
              (X_test, y_test)]
    sizes = _subset_sizes(subset, splits, _SETS[name]["title"])
    return tuple(split if n is None else _balanced(*split, n) for split, n in zip(splits, sizes))


def _subset_sizes(subset, splits, title):
    """Number of images to keep in (train, valid, test); ``None`` keeps a whole split.

    An int ``n`` asks for ``n`` training images; valid and test get the proportional share of theirs
    (5,000/55,000 and 10,000/55,000 of ``n`` on the real sets), rounded to a multiple of 10, at
    least 10 and at most what a class-balanced subset of that split can hold. A dict may name any of
    ``train``, ``valid``, ``test``; a key left out, or ``None``, keeps the whole split. Every number
    asked for must be a positive multiple of 10 that the split can hold class-balanced.
    """
    if subset is None:
        return [None, None, None]
    keys = ("train", "valid", "test")
    limits = [10 * int(np.bincount(y, minlength=10).min()) for _, y in splits]
    if isinstance(subset, dict):
        unknown = set(subset) - set(keys)
        if unknown:
            raise ValueError(f"subset has unknown keys {sorted(map(str, unknown))}; "
                             f"allowed are 'train', 'valid', 'test'")
        sizes = [subset.get(k) for k in keys]
    else:
        sizes = [subset, None, None]
    for key, n, limit in zip(keys, sizes, limits):
        if n is not None and (not isinstance(n, (int, np.integer)) or isinstance(n, bool)
                              or n < 10 or n % 10 or n > limit):
            raise ValueError(f"subset {key}={n!r} is not allowed: ask for a multiple of 10 from 10 to "
                             f"{limit:,} (the rarest class of the {title} {key} split has "
                             f"{limit // 10:,} images), or None for the whole split")
    if not isinstance(subset, dict):
        n_train = len(splits[0][1])
        for i in (1, 2):
            share = 10 * math.floor(subset * len(splits[i][1]) / n_train / 10 + 0.5)
            sizes[i] = min(max(share, 10), limits[i])
    return [None if n is None else int(n) for n in sizes]


def _balanced(X, y, n):
    """The first ``n // 10`` images of each class in file order, kept in file order (new arrays)."""
    idx = np.sort(np.concatenate([np.flatnonzero(y == c)[:n // 10] for c in range(10)]))
    return X[idx], y[idx]


def _locate(name, data_dir):
    """The files of one set: a tuple of four IDX paths, or of one ``mnist.npz`` path."""
    spec = _SETS[name]
    if data_dir is not None:
        paths, reason = _look(Path(data_dir).expanduser(), spec["npz"])
        if paths:
            return paths
        raise DataError(f"{spec['title']} is not in data_dir={str(data_dir)!r}: {reason}. Expected "
                        f"the four files {', '.join(_FILES)} (each may end in .gz)"
                        + (f" or {spec['npz']}" if spec["npz"] else "")
                        + "; pass another data_dir, or data_dir=None to search the usual places.")
    searched = ["the data_dir argument (not given)"]
    for label, directory in _places(name):
        paths, reason = _look(directory, spec["npz"])
        if paths:
            return paths
        searched.append(f"{label} ({reason})")
    try:
        return _download(name)
    except Exception as error:  # offline, no Keras, or the cache not writable: say so below
        searched.append(f"download with keras.utils.get_file (failed: {type(error).__name__}: {error})")
    raise DataError(_missing_message(spec, searched))


def _places(name):
    """Steps 2 to 4 of the search, as ``(label, directory or None)`` in order."""
    spec, keras_datasets = _SETS[name], _keras_home() / "datasets"
    places = []
    for var, sub in ((spec["env"], ""), ("COURSE_DATA_DIR", spec["sub"])):
        value = os.environ.get(var)
        label = f"${var}" + (f"/{sub}" if sub else "")
        directory = Path(value, sub) if value else None
        places.append((f"{label} = {directory}" if value else label, directory))
    places.append((f"Keras cache {keras_datasets / spec['sub']}", keras_datasets / spec["sub"]))
    if spec["npz"]:
        places.append((f"Keras cache {keras_datasets}", keras_datasets))
    return places + [(str(d), d) for d in _SYSTEM_DIRS[name]]


def _keras_home():
    """Keras' cache directory: ``$KERAS_HOME`` or ``~/.keras``, as Keras itself picks it."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")


def _look(directory, npz=None):
    """``(paths, None)`` if ``directory`` holds the set, else ``(None, why not)``."""
    if directory is None:
        return None, "not set"
    if not directory.is_dir():
        return None, "no such directory"
    paths, missing = [], []
    for stem in _FILES:
        found = [directory / (stem + ext) for ext in ("", ".gz") if (directory / (stem + ext)).is_file()]
        if found:
            paths.append(found[0])
        else:
            missing.append(stem + "[.gz]")
    if not missing:
        return tuple(paths), None
    if npz and (directory / npz).is_file():
        return (directory / npz,), None
    what = "none of the four IDX files" if len(missing) == 4 else "missing " + ", ".join(missing)
    return None, what + (f" and no {npz}" if npz else "")


def _download(name):
    """Step 5: fetch the set into the Keras cache with Keras' own downloader; return the paths."""
    home = _keras_home()
    (home / "datasets").mkdir(parents=True, exist_ok=True)  # else Keras falls back to /tmp/.keras
    from keras.utils import get_file
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_TIMEOUT)
    try:
        if name == "mnist":
            return (Path(get_file("mnist.npz", _URL + "mnist.npz", file_hash=_MNIST_SHA256,
                                  cache_dir=str(home))),)
        return tuple(Path(get_file(f"{stem}.gz", f"{_URL}{stem}.gz", cache_dir=str(home),
                                   cache_subdir=os.path.join("datasets", "fashion-mnist")))
                     for stem in _FILES)
    finally:
        socket.setdefaulttimeout(previous)


def _missing_message(spec, searched):
    """The message of a set found nowhere: each place searched, then how to install it."""
    places = "\n".join(f"  {i}. {line}" for i, line in enumerate(searched, 1))
    fashion = ("To install Fashion-MNIST: `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu, "
               "files in /usr/share/datasets/fashion-mnist); or set COURSE_DATA_DIR to a directory "
               "holding fashion-mnist/ (or FASHION_MNIST_DIR to the directory itself); or put the four "
               f"files {', '.join(s + '.gz' for s in _FILES)} in ~/.keras/datasets/fashion-mnist.")
    mnist = ("MNIST has no offline package: it needs an internet connection (Keras downloads "
             "mnist.npz into ~/.keras/datasets) or files placed by hand (mnist.npz or the four IDX "
             "files in ~/.keras/datasets/mnist, $MNIST_DIR or $COURSE_DATA_DIR/mnist).")
    helps = (fashion, mnist) if spec["npz"] is None else (mnist, fashion)
    return f"{spec['title']} was not found. Places searched, in order:\n{places}\n" + "\n".join(helps)


def _parse_cached(paths):
    """The four full arrays of ``paths``, parsed on the first call only, read-only."""
    key = tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    if key not in _CACHE:
        if len(paths) == 1:
            arrays = _read_npz(paths[0])
        else:
            arrays = [_read_idx(p, ndim) for p, ndim in zip(paths, (3, 1, 3, 1))]
            arrays = _finish(arrays, [str(p) for p in paths])
        for array in arrays:
            array.setflags(write=False)
        _CACHE[key] = arrays
    return _CACHE[key]


def _read_npz(path):
    """Read Keras' ``mnist.npz`` (keys ``x_train``, ``y_train``, ``x_test``, ``y_test``)."""
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = [np.asarray(npz[k]) for k in keys]
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, zlib.error) as error:
        raise DataError(f"{path} cannot be read as Keras' mnist.npz ({error}). {_FIX}") from error
    for key, array, ndim in zip(keys, arrays, (3, 1, 3, 1)):
        if array.dtype != np.uint8 or array.shape[1:] != (28, 28)[:ndim - 1]:
            raise DataError(f"{path}: {key} has dtype {array.dtype} and shape {array.shape}, "
                            f"expected uint8 of shape (n{', 28, 28' if ndim == 3 else ''}). {_FIX}")
    return _finish(arrays, [f"{path}[{k}]" for k in keys])


def _read_idx(path, ndim):
    """One IDX file of unsigned bytes (``ndim`` 3 for images, 1 for labels), fully checked."""
    magic = 0x0800 + ndim  # 2051 for images, 2049 for labels
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as file:
            raw = file.read()
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
        raise DataError(f"{path} cannot be read or is a truncated or damaged file "
                        f"({type(error).__name__}: {error}). {_FIX}") from error
    head = 4 * (1 + ndim)
    if len(raw) < head:
        raise DataError(f"{path} is too short ({len(raw)} bytes) to hold an IDX header. {_FIX}")
    header = [int(v) for v in np.frombuffer(raw, ">i4", 1 + ndim)]
    if header[0] != magic:
        raise DataError(f"{path} has magic number {header[0]} (0x{header[0] & 0xFFFFFFFF:08x}), "
                        f"expected {magic} (0x{magic:08x}: IDX, unsigned bytes, {ndim} "
                        f"dimension{'s' * (ndim > 1)}); it is not the file expected. {_FIX}")
    dims = tuple(header[1:])
    if ndim == 3 and dims[1:] != (28, 28):
        raise DataError(f"{path} holds images of {dims[1]}x{dims[2]} pixels, expected 28x28. {_FIX}")
    if min(dims) < 0 or len(raw) - head != math.prod(dims):
        raise DataError(f"{path} has {len(raw) - head:,} bytes of data but its header announces "
                        f"{' x '.join(map(str, dims))} = {math.prod(dims):,}. {_FIX}")
    return np.frombuffer(raw, np.uint8, offset=head).reshape(dims)


def _finish(arrays, names):
    """Check counts and labels, then scale images to float32 [0, 1] and labels to int64."""
    X_train, y_train, X_test, y_test = arrays
    for X, y, name_X, name_y in ((X_train, y_train, *names[:2]), (X_test, y_test, *names[2:])):
        if len(X) != len(y):
            raise DataError(f"{name_X} holds {len(X):,} images but {name_y} holds {len(y):,} labels; "
                            f"they must agree. {_FIX}")
        if len(y) and int(y.max()) > 9:
            raise DataError(f"{name_y} holds label {int(y.max())}, expected 0..9. {_FIX}")
    if len(X_train) <= _N_VALID:
        raise DataError(f"{names[0]} holds only {len(X_train):,} training images; the course uses the "
                        f"first {_N_VALID:,} as the validation set, so it needs more. {_FIX}")
    return (np.divide(X_train, np.float32(255), dtype=np.float32), y_train.astype(np.int64),
            np.divide(X_test, np.float32(255), dtype=np.float32), y_test.astype(np.int64))
