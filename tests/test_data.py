"""Tests of companion.data: small synthetic IDX files written here, plus the Debian files if present.

Every test runs with HOME, KERAS_HOME and the data variables pointing at empty places, the system
directories moved into tmp_path and the downloader replaced by one that fails as it does offline.
"""
import gzip
import struct
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from companion import data

REAL_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = [stem + ".gz" for stem in data._FILES]
N_TRAIN_FILE, N_TEST = 5100, 50  # 5,000 validation + 100 training images; 50 test images


def idx_bytes(array, magic=None, dims=None):
    """An IDX file of unsigned bytes holding ``array`` (header fields can be overridden)."""
    array = np.asarray(array, np.uint8)
    dims = list(array.shape if dims is None else dims)
    magic = 0x0800 + array.ndim if magic is None else magic
    return struct.pack(f">{1 + len(dims)}i", magic, *dims) + array.tobytes()


def write(path, payload):
    """Write ``payload`` to ``path``, gzipped if the name ends in .gz."""
    if path.suffix == ".gz":
        with gzip.open(path, "wb", compresslevel=1) as file:
            file.write(payload)
    else:
        path.write_bytes(payload)
    return path


def images(n):
    """``n`` images whose pixels (0, 1) and (0, 2) encode the index; corners 0 and 255."""
    X = np.full((n, 28, 28), 7, np.uint8)
    index = np.arange(n)
    X[:, 0, 0], X[:, 27, 27] = 0, 255
    X[:, 0, 1], X[:, 0, 2] = index % 256, index // 256
    return X


def index_of(X):
    """The original indices encoded by :func:`images` (after scaling to [0, 1])."""
    pixels = np.rint(X[:, 0, 1:3] * 255).astype(int)
    return pixels[:, 0] + 256 * pixels[:, 1]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """One good synthetic set, gzipped and plain, written once for the module."""
    root = tmp_path_factory.mktemp("synthetic")
    s = SimpleNamespace(X_train=images(N_TRAIN_FILE), X_test=images(N_TEST),
                        y_train=(np.arange(N_TRAIN_FILE) * 7 + np.arange(N_TRAIN_FILE) // 10) % 10,
                        y_test=np.arange(N_TEST) % 10, gz=root / "gz", plain=root / "plain")
    for directory, ext in ((s.gz, ".gz"), (s.plain, "")):
        directory.mkdir()
        for stem, array in zip(data._FILES, (s.X_train, s.y_train, s.X_test, s.y_test)):
            write(directory / (stem + ext), idx_bytes(array))
    return s


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Nothing outside tmp_path is searched, the network is never reached, the cache starts empty."""
    for var in ("COURSE_DATA_DIR", "FASHION_MNIST_DIR", "MNIST_DIR", "KERAS_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    system = {name: [tmp_path / "system" / sub] for name, sub in (("fashion", "fashion-mnist"),
                                                                    ("mnist", "mnist"))}
    monkeypatch.setattr(data, "_SYSTEM_DIRS", system)
    calls = []

    def offline(name):
        calls.append(name)
        raise OSError("URL fetch failure: [Errno -3] Temporary failure in name resolution (test)")

    monkeypatch.setattr(data, "_download", offline)
    monkeypatch.setattr(data, "_CACHE", {})
    return SimpleNamespace(tmp=tmp_path, home=tmp_path / "home", system=system, downloads=calls)


def set_dir(directory, synthetic, **replace):
    """A directory holding the good gzipped set (symlinks), some files replaced by given bytes."""
    directory.mkdir(parents=True)
    for name in FILES:
        key = name.split("-idx")[0].replace("-", "_")
        if key in replace:
            write(directory / name, replace[key])
        else:
            (directory / name).symlink_to(synthetic.gz / name)
    return directory


# --- parsing --------------------------------------------------------------------------------------

def test_parse_synthetic_set(synthetic):
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = data.load_fashion_mnist(synthetic.gz)
    assert X_train.shape == (N_TRAIN_FILE - 5000, 28, 28) and X_valid.shape == (5000, 28, 28)
    assert X_test.shape == (N_TEST, 28, 28)
    for X, y in ((X_train, y_train), (X_valid, y_valid), (X_test, y_test)):
        assert X.dtype == np.float32 and y.dtype == np.int64 and y.shape == (len(X),)
        assert X.min() == 0.0 and X.max() == 1.0
        assert np.all(X[:, 0, 0] == 0.0) and np.all(X[:, 27, 27] == 1.0)
    assert X_train[0, 5, 5] == np.float32(7) / np.float32(255)
    np.testing.assert_array_equal(index_of(X_valid), np.arange(5000))  # the first 5,000 images
    np.testing.assert_array_equal(index_of(X_train), np.arange(5000, N_TRAIN_FILE))
    np.testing.assert_array_equal(y_valid, synthetic.y_train[:5000])
    np.testing.assert_array_equal(y_train, synthetic.y_train[5000:])
    np.testing.assert_array_equal(y_test, synthetic.y_test)


def test_plain_files_give_the_same_arrays(synthetic):
    for a, b in zip(data.load_fashion_mnist(synthetic.gz), data.load_fashion_mnist(synthetic.plain)):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_mnist_from_keras_npz(isolated, synthetic):
    keras_datasets = isolated.home / ".keras" / "datasets"
    keras_datasets.mkdir(parents=True)
    np.savez(keras_datasets / "mnist.npz",
             x_train=synthetic.X_train, y_train=synthetic.y_train.astype(np.uint8),
             x_test=synthetic.X_test, y_test=synthetic.y_test.astype(np.uint8))
    (X_train, _), (X_valid, _), (X_test, y_test) = data.load_mnist()
    assert (len(X_train), len(X_valid), len(X_test)) == (N_TRAIN_FILE - 5000, 5000, N_TEST)
    assert X_test.dtype == np.float32 and y_test.dtype == np.int64 and X_test.max() == 1.0


def test_damaged_mnist_npz(isolated):
    keras_datasets = isolated.home / ".keras" / "datasets"
    keras_datasets.mkdir(parents=True)
    (keras_datasets / "mnist.npz").write_bytes(b"PK\x03\x04 not a whole zip file")
    with pytest.raises(data.DataError, match="mnist.npz cannot be read as Keras' mnist.npz"):
        data.load_mnist()


# --- cache and subsets ----------------------------------------------------------------------------

def test_second_call_does_not_reread(monkeypatch, synthetic):
    reads = []
    real_read = data._read_idx
    monkeypatch.setattr(data, "_read_idx",
                        lambda path, ndim: reads.append(path) or real_read(path, ndim))
    first = data.load_fashion_mnist(synthetic.gz)
    second = data.load_fashion_mnist(synthetic.gz, subset=20)
    assert len(reads) == 4
    assert np.shares_memory(first[0][0], data.load_fashion_mnist(synthetic.gz)[0][0])
    assert len(reads) == 4 and len(second[0][0]) == 20


def test_full_arrays_are_read_only_and_subsets_are_new(synthetic):
    (X_train, y_train), _, _ = data.load_fashion_mnist(synthetic.gz)
    with pytest.raises(ValueError):
        X_train[0, 0, 0] = 0.5
    with pytest.raises(ValueError):
        y_train[0] = 3
    (X_sub, y_sub), _, _ = data.load_fashion_mnist(synthetic.gz, subset=10)
    X_sub[:] = 0.5
    assert not np.shares_memory(X_sub, X_train) and X_train.max() == 1.0


def test_int_subset_is_balanced_first_in_file_order_and_deterministic(synthetic):
    splits = data.load_fashion_mnist(synthetic.gz, subset=50)
    # train 50; valid 50 * 5000/100 = 2500; test 50 * 50/100 = 25, rounded to 30
    assert [len(X) for X, _ in splits] == [50, 2500, 30]
    offsets = (5000, 0, 0)
    full_labels = (synthetic.y_train[5000:], synthetic.y_train[:5000], synthetic.y_test)
    for (X, y), offset, labels in zip(splits, offsets, full_labels):
        assert np.all(np.bincount(y, minlength=10) == len(y) // 10)
        index = index_of(X) - offset
        assert np.all(np.diff(index) > 0)  # kept in file order
        firsts = [np.flatnonzero(labels == c)[:len(y) // 10] for c in range(10)]
        expected = np.sort(np.concatenate(firsts))
        np.testing.assert_array_equal(index, expected)  # the first ones of each class
        np.testing.assert_array_equal(y, labels[index])
    again = data.load_fashion_mnist(synthetic.gz, subset=50)
    for (X, y), (X2, y2) in zip(splits, again):
        np.testing.assert_array_equal(X, X2)
        np.testing.assert_array_equal(y, y2)


def test_dict_subset_keeps_splits_left_out(synthetic):
    (X_train, _), (X_valid, _), (X_test, y_test) = data.load_fashion_mnist(
        synthetic.gz, subset={"train": 20, "test": 10, "valid": None})
    assert (len(X_train), len(X_valid), len(X_test)) == (20, 5000, 10)
    assert sorted(y_test) == list(range(10))


@pytest.mark.parametrize("subset", [0, 5, 15, -10, 110, 1.5, "10", True, [10],
                                    {"train": 10, "tain": 10}, {"valid": 5010}, {"test": 60}])
def test_bad_subset_values(synthetic, subset):
    with pytest.raises(ValueError, match="multiple of 10|unknown keys") as info:
        data.load_fashion_mnist(synthetic.gz, subset=subset)
    assert not isinstance(info.value, data.DataError)


def test_subset_error_says_what_is_allowed(synthetic):
    with pytest.raises(ValueError, match=r"train=110 .* multiple of 10 from 10 to 100"):
        data.load_fashion_mnist(synthetic.gz, subset=110)


# --- where the files are found --------------------------------------------------------------------

@pytest.mark.parametrize("winner", ["FASHION_MNIST_DIR", "COURSE_DATA_DIR", "keras", "system"])
def test_search_order(monkeypatch, isolated, synthetic, winner):
    places = {"FASHION_MNIST_DIR": isolated.tmp / "env",
              "COURSE_DATA_DIR": isolated.tmp / "course" / "fashion-mnist",
              "keras": isolated.home / ".keras" / "datasets" / "fashion-mnist",
              "system": isolated.system["fashion"][0]}
    monkeypatch.setenv("FASHION_MNIST_DIR", str(places["FASHION_MNIST_DIR"]))
    monkeypatch.setenv("COURSE_DATA_DIR", str(isolated.tmp / "course"))
    order = list(places)
    for name in order[order.index(winner):]:  # the winner and every later place hold a set
        set_dir(places[name], synthetic)
    assert {p.parent for p in data._locate("fashion", None)} == {places[winner]}
    assert isolated.downloads == []


def test_keras_home_is_respected(monkeypatch, isolated, synthetic):
    monkeypatch.setenv("KERAS_HOME", str(isolated.tmp / "kh"))
    set_dir(isolated.tmp / "kh" / "datasets" / "fashion-mnist", synthetic)
    assert len(data.load_fashion_mnist()[0][0]) == N_TRAIN_FILE - 5000


def test_download_is_the_last_resort(monkeypatch, isolated, synthetic):
    monkeypatch.setattr(data, "_download", lambda name: tuple(synthetic.gz / f for f in FILES))
    assert len(data.load_fashion_mnist()[2][0]) == N_TEST


def test_missing_set_lists_every_place_searched(monkeypatch, isolated):
    monkeypatch.setenv("COURSE_DATA_DIR", str(isolated.tmp / "empty"))
    (isolated.tmp / "empty" / "fashion-mnist").mkdir(parents=True)
    with pytest.raises(data.DataError) as info:
        data.load_fashion_mnist()
    message = str(info.value)
    places = ["data_dir argument", "$FASHION_MNIST_DIR (not set)",
              f"$COURSE_DATA_DIR/fashion-mnist = {isolated.tmp / 'empty' / 'fashion-mnist'}",
              str(isolated.home / ".keras" / "datasets" / "fashion-mnist"),
              str(isolated.system["fashion"][0]), "keras.utils.get_file", "name resolution"]
    positions = [message.find(place) for place in places]
    assert -1 not in positions and positions == sorted(positions), message
    assert "none of the four IDX files" in message
    assert "sudo apt-get install dataset-fashion-mnist" in message and "internet connection" in message
    assert isolated.downloads == ["fashion"]


def test_missing_mnist_mentions_internet(isolated):
    expected = "(?s)^MNIST was not found.*\n  7. download.*\nMNIST has no offline package: .* internet"
    with pytest.raises(data.DataError, match=expected):
        data.load_mnist()
    assert isolated.downloads == ["mnist"]


def test_explicit_data_dir_does_not_fall_back(monkeypatch, isolated, synthetic):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(synthetic.gz))  # a good set elsewhere is not used
    partial = isolated.tmp / "partial"
    partial.mkdir()
    (partial / FILES[0]).symlink_to(synthetic.gz / FILES[0])
    with pytest.raises(data.DataError, match=r"not in data_dir=.*partial.*missing train-labels"):
        data.load_fashion_mnist(data_dir=partial)
    with pytest.raises(data.DataError, match="no such directory"):
        data.load_fashion_mnist(data_dir=isolated.tmp / "nowhere")
    assert isolated.downloads == []


# --- damaged files --------------------------------------------------------------------------------

def damaged(tmp_path, synthetic, match, **replace):
    """Load a set with some files replaced; the DataError must match and name the bad file."""
    directory = set_dir(tmp_path / "set", synthetic, **replace)
    with pytest.raises(data.DataError, match=match) as info:
        data.load_fashion_mnist(directory)
    return str(info.value)


def raw_file(tmp_path, synthetic, name, payload):
    """A good set whose file ``name`` holds exactly ``payload`` (no gzip added)."""
    directory = set_dir(tmp_path / "set", synthetic)
    (directory / name).unlink()
    (directory / name).write_bytes(payload)
    return directory


@pytest.mark.parametrize("cut", [0.5, 0.99])
def test_truncated_gzip(tmp_path, synthetic, cut):
    good = gzip.compress(idx_bytes(synthetic.X_test))
    directory = raw_file(tmp_path, synthetic, FILES[2], good[: int(len(good) * cut)])
    with pytest.raises(data.DataError, match="truncated or damaged") as info:
        data.load_fashion_mnist(directory)
    assert str(directory / FILES[2]) in str(info.value)
    assert "apt-get install --reinstall dataset-fashion-mnist" in str(info.value)


def test_not_a_gzip_file(tmp_path, synthetic):
    directory = raw_file(tmp_path, synthetic, FILES[3], idx_bytes(synthetic.y_test))
    with pytest.raises(data.DataError, match=f"{FILES[3]} cannot be read"):
        data.load_fashion_mnist(directory)


def test_wrong_magic_number(tmp_path, synthetic):
    message = damaged(tmp_path, synthetic, "magic number 2051",
                      t10k_labels=idx_bytes(synthetic.y_test, magic=2051))
    assert f"set/{FILES[3]}" in message and "expected 2049" in message


def test_wrong_payload_size(tmp_path, synthetic):
    short = idx_bytes(synthetic.X_test, dims=(N_TEST + 1, 28, 28))
    message = damaged(tmp_path, synthetic, "header announces", t10k_images=short)
    assert f"set/{FILES[2]}" in message and f"{N_TEST * 784:,} bytes" in message
    damaged(tmp_path / "long", synthetic, "header announces",
            t10k_images=idx_bytes(synthetic.X_test, dims=(N_TEST - 1, 28, 28)))


def test_bad_header(tmp_path, synthetic):
    damaged(tmp_path, synthetic, "too short", t10k_labels=b"\x00\x00\x08")
    damaged(tmp_path / "2", synthetic, "expected 28x28",
            t10k_images=idx_bytes(synthetic.X_test[:, :, :27]))


def test_count_mismatch(tmp_path, synthetic):
    message = damaged(tmp_path, synthetic, f"holds {N_TEST} images but .* holds 40 labels",
                      t10k_labels=idx_bytes(synthetic.y_test[:40]))
    assert FILES[2] in message and FILES[3] in message


def test_labels_out_of_range(tmp_path, synthetic):
    damaged(tmp_path, synthetic, "label 12, expected 0..9",
            t10k_labels=idx_bytes(np.full(N_TEST, 12)))


def test_too_few_training_images(tmp_path, synthetic):
    damaged(tmp_path, synthetic, "only 100 training images",
            train_images=idx_bytes(synthetic.X_test.repeat(2, axis=0)),
            train_labels=idx_bytes(synthetic.y_test.repeat(2)))


# --- the module itself ----------------------------------------------------------------------------

def test_import_loads_no_framework():
    code = ("import sys, companion.data; "
            "print(sorted(m for m in ('tensorflow', 'torch', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_public_api():
    assert set(data.__all__) == {"CLASS_NAMES", "DataError", "load_fashion_mnist", "load_mnist"}
    assert issubclass(data.DataError, RuntimeError)
    assert len(data.CLASS_NAMES) == 10 and data.CLASS_NAMES[0] == "T-shirt/top"
    assert data.CLASS_NAMES[9] == "Ankle boot"
    for name in ("DataError", "load_fashion_mnist", "load_mnist"):
        assert getattr(data, name).__doc__


# --- the real Debian files ------------------------------------------------------------------------

needs_real = pytest.mark.skipif(not all((REAL_DIR / f).is_file() for f in FILES),
                                reason=f"Fashion-MNIST not installed in {REAL_DIR} "
                                       "(sudo apt-get install dataset-fashion-mnist)")
_REAL_CACHE = {}  # parsed once for all the tests below


@pytest.fixture
def real(monkeypatch):
    """Loader of the real files, sharing one parse between the tests."""
    monkeypatch.setattr(data, "_CACHE", _REAL_CACHE)
    return lambda **kw: data.load_fashion_mnist(REAL_DIR, **kw)


@needs_real
def test_real_split(real):
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = real()
    assert (X_train.shape, X_valid.shape, X_test.shape) == ((55000, 28, 28), (5000, 28, 28),
                                                          (10000, 28, 28))
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0
    assert np.all(np.bincount(y_test) == 1000) and set(np.unique(y_valid)) == set(range(10))


@needs_real
def test_real_subsets(real):
    splits = real(subset=1100)
    assert [len(y) for _, y in splits] == [1100, 100, 200]
    for _, y in splits:
        assert np.all(np.bincount(y, minlength=10) == len(y) // 10)
    with pytest.raises(ValueError, match="from 10 to 54,440"):
        real(subset=55000)
    assert len(real(subset={"valid": 4570})[1][1]) == 4570
