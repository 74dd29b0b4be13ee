"""Name -> the three implementations (TF1 style, Keras, PyTorch) of each course model.

A model module (``companion/models/<concept>.py``) defines three short builders and registers them::

    register("sigmoid_chain", tf1=chain_tf1, keras=chain_keras, torch=chain_torch,
             task="regression", input_shape=(1,), depth=4)

- ``tf1(x, training, **options)`` is a TF1 graph function: it receives the input placeholder and the
  boolean ``training`` tensor and returns the output tensor (logits for classification);
  :mod:`companion.frameworks.tf1` wraps it in a graph and a session.
- ``keras(**options)`` returns a ``keras.Model``; ``torch(**options)`` returns an ``nn.Module``.

Every builder returns *raw outputs*: logits for ``task="classification"`` (the loss is softmax
cross-entropy on them), the prediction itself for ``task="regression"`` (mean squared error).
"""
from dataclasses import dataclass, field

FRAMEWORKS = ("tf1", "keras", "torch")
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows of one model: its builders, task, input shape and default options."""
    name: str
    builders: dict
    task: str
    input_shape: tuple
    defaults: dict = field(default_factory=dict)
    doc: str = ""

    def options(self, **overrides):
        """The default options updated with ``overrides``; unknown option names are an error."""
        unknown = set(overrides) - set(self.defaults)
        if unknown:
            raise TypeError(f"model {self.name!r} has no option(s) {sorted(unknown)}; "
                            f"its options are {sorted(self.defaults)}")
        return {**self.defaults, **overrides}


_REGISTRY = {}


def register(name, *, tf1, keras, torch, task, input_shape, doc="", **defaults):
    """Register the three builders of model ``name``; ``defaults`` are its options and their defaults."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, not {task!r}")
    if name in _REGISTRY:
        raise ValueError(f"a model named {name!r} is registered already")
    _REGISTRY[name] = ModelSpec(name, {"tf1": tf1, "keras": keras, "torch": torch}, task,
                                tuple(input_shape), dict(defaults), doc)
    return _REGISTRY[name]


def names():
    """The registered model names, sorted."""
    return sorted(_REGISTRY)


def spec(name):
    """The :class:`ModelSpec` of ``name``; an unknown name raises ``KeyError`` listing the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no model named {name!r}; the registered models are {names()}") from None


def check_framework(framework):
    """Raise a clear ``ValueError`` unless ``framework`` is one of ``tf1``, ``keras``, ``torch``."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, not {framework!r}")
    return framework
