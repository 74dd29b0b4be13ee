"""The package's shape: lazy frameworks, sizes, the registry and its errors."""
import subprocess
import sys

import pytest

from companion import models, registry, sizes


def test_import_loads_no_framework():
    code = ("import companion, companion.models, companion.data, companion.sizes, sys; "
            "assert 'tensorflow' not in sys.modules and 'torch' not in sys.modules, "
            "[m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'torch', 'keras')]")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize("value, expected", [("quick", "quick"), ("full", "full"), (" QUICK ", "quick"),
                                             ("", "full")])
def test_sizes(monkeypatch, value, expected):
    monkeypatch.setenv("COURSE_SIZE", value)
    assert sizes.current() == expected
    assert sizes.pick(quick=1, full=2) == (1 if expected == "quick" else 2)


def test_size_default_is_full(monkeypatch):
    monkeypatch.delenv("COURSE_SIZE", raising=False)
    assert sizes.current() == "full"


def test_unknown_size_says_what_to_do(monkeypatch):
    monkeypatch.setenv("COURSE_SIZE", "medium")
    with pytest.raises(ValueError, match="'quick' or 'full'"):
        sizes.current()


def test_registry_lists_the_models():
    assert "sigmoid_chain" in models.names()
    assert models.FRAMEWORKS == ("tf1", "keras", "torch")


def test_unknown_model_lists_known_ones():
    with pytest.raises(KeyError, match="sigmoid_chain"):
        models.build("no_such_model", "torch")


def test_unknown_framework():
    with pytest.raises(ValueError, match="tf1"):
        models.build("sigmoid_chain", "jax")


def test_unknown_option():
    with pytest.raises(TypeError, match="depth"):
        models.build("sigmoid_chain", "torch", width=3)


def test_register_twice_is_an_error():
    spec = models.spec("sigmoid_chain")
    with pytest.raises(ValueError, match="registered already"):
        registry.register("sigmoid_chain", task="regression", input_shape=(1,), **spec.builders)


def test_not_a_model():
    from companion import frameworks
    with pytest.raises(TypeError, match="not a model"):
        frameworks.framework_of(object())


def test_every_lazy_submodule_imports():
    import importlib
    import companion
    for name in companion._LAZY:
        assert importlib.import_module(f"companion.{name}") is getattr(companion, name)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        companion.nope
