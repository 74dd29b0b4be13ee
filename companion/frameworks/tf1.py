"""The TF1 backend: a graph, a session, placeholders and ``feed_dict``, on TensorFlow 2.21.

A TF1 model of the course is a *graph function* ``f(X, training, **options) -> outputs`` written with
``tf.compat.v1`` ops and :mod:`companion.tf1.layers`. :class:`GraphModel` builds it in a graph of its
own (TF2 behaviour stays on for the rest of the process, so Keras still works beside it), adds the loss,
and holds the session.
"""
import tensorflow as tf

v1 = tf.compat.v1


class GraphModel:
    """A TF1 program: graph, session, placeholders ``X``, ``y``, ``training``, the output and the loss.

    ``training`` is a ``placeholder_with_default(False)``: feed ``{model.training: True}`` to use batch
    statistics in batch normalization. Close the session with :meth:`close` (or use ``with``).
    """

    def __init__(self, graph_fn, input_shape, task, seed=0, **options):
        self.task = task
        self.graph = tf.Graph()
        with self.graph.as_default():
            v1.set_random_seed(seed)
            self.X = v1.placeholder(tf.float32, (None, *input_shape), name="X")
            self.training = v1.placeholder_with_default(False, (), name="training")
            self.output = graph_fn(self.X, self.training, **options)
            self.variables = v1.global_variables()
            self.trainable_variables = v1.trainable_variables()
            self.y, self.loss, self.n_correct = _loss_ops(self.output, task)
            self.gradients = tf.gradients(self.loss, self.trainable_variables)
            # The seed's idiom, minimize() under control_dependencies(UPDATE_OPS), done once here: the
            # gradients that train ops apply wait for the moving-statistics updates. (Built before the
            # session first runs the graph: control_dependencies marks its inputs with an attribute, and
            # TF 2.21 warns about any op changed after a session has run the graph.)
            with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
                self._gradients_after_updates = [None if g is None else tf.identity(g) for g in self.gradients]
            self._values = [v1.placeholder(v.dtype.base_dtype, v.shape) for v in self.variables]
            self._assign = tf.group(*[v.assign(p) for v, p in zip(self.variables, self._values)])
            init = v1.global_variables_initializer()
        self.session = v1.Session(graph=self.graph)
        self.session.run(init)
        self._train_ops = {}

    def feed(self, X, y=None, training=False):
        """The ``feed_dict`` for inputs ``X``, targets ``y`` and the training flag."""
        feed = {self.X: X, self.training: training}
        if y is not None:
            feed[self.y] = y
        return feed

    def train_op(self, config, clip=None):
        """``(train_op, gradient_norm, clipped)`` of optimizer ``config``, built once.

        The seed program's idiom: the gradients (which wait for the ``UPDATE_OPS``, as ``minimize`` under
        ``control_dependencies`` does), clipped by ``clip`` if given, then ``apply_gradients``.
        ``gradient_norm`` is their global norm before clipping; ``clipped`` whether clipping changed them.
        """
        key = (tuple(sorted(vars(config).items())), clip)
        if key not in self._train_ops:
            with self.graph.as_default():
                before = set(v1.global_variables())
                optimizer = make_optimizer(config)
                grads = self._gradients_after_updates
                norm = tf.linalg.global_norm(grads)
                grads, clipped = clip_gradients(grads, clip, norm)
                op = optimizer.apply_gradients(zip(grads, self.trainable_variables))
                slots = [v for v in v1.global_variables() if v not in before]
                self.session.run(v1.variables_initializer(slots))
            self._train_ops[key] = (op, norm, clipped)
        return self._train_ops[key]

    def close(self):
        """Close the session (the graph's memory is freed with the object)."""
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _loss_ops(output, task):
    """Targets placeholder, mean loss and number of correct predictions for ``task``."""
    if task == "classification":
        y = v1.placeholder(tf.int64, (None,), name="y")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=output))
        n_correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(output, axis=1), y), tf.float32))
    else:
        y = v1.placeholder(tf.float32, output.shape, name="y")
        loss = tf.reduce_mean(tf.square(output - y))
        n_correct = tf.constant(float("nan"))
    return y, tf.identity(loss, name="loss"), n_correct


def clip_gradients(grads, clip, norm=None):
    """``(clipped gradients, was any clipped)`` with TensorFlow's clipping ops: ``tf.clip_by_value``,
    ``tf.clip_by_norm`` on each tensor, or ``tf.clip_by_global_norm``. ``clip`` None leaves them."""
    if clip is None:
        return grads, tf.constant(False)
    t = clip.threshold
    if clip.kind == "value":
        return ([tf.clip_by_value(g, -t, t) for g in grads],
                tf.reduce_any(tf.stack([tf.reduce_any(tf.abs(g) > t) for g in grads])))
    if clip.kind == "norm":
        return ([tf.clip_by_norm(g, t) for g in grads],
                tf.reduce_any(tf.stack([tf.norm(g) > t for g in grads])))
    norm = tf.linalg.global_norm(grads) if norm is None else norm
    clipped, _ = tf.clip_by_global_norm(grads, t, use_norm=norm)
    return clipped, norm > t


def make_optimizer(config):
    """The ``tf.compat.v1.train`` optimizer of ``config``, every hyperparameter explicit."""
    if config.name == "adam":
        return v1.train.AdamOptimizer(config.learning_rate, beta1=config.beta_1, beta2=config.beta_2,
                                      epsilon=config.epsilon)
    if config.momentum:
        return v1.train.MomentumOptimizer(config.learning_rate, momentum=config.momentum)
    return v1.train.GradientDescentOptimizer(config.learning_rate)


def owns(model):
    """True for a :class:`GraphModel`."""
    return isinstance(model, GraphModel)


def seed(value):
    """TF1 programs are seeded per graph (``set_random_seed`` when the graph is built): nothing to do."""


def build(spec, options, seed_value):
    """Build the registered TF1 graph function in a new :class:`GraphModel`."""
    return GraphModel(spec.builders["tf1"], spec.input_shape, spec.task, seed=seed_value, **options)


def get_weights(model):
    """The variables' values, in creation order (the neutral order)."""
    return model.session.run(model.variables)


def set_weights(model, weights):
    """Assign the neutral weight list to the variables through the assign placeholders."""
    model.session.run(model._assign, dict(zip(model._values, weights)))


def trainable_mask(model):
    """True for each variable in ``TRAINABLE_VARIABLES``."""
    trainable = {v.name for v in model.trainable_variables}    # variables are unhashable in TF2 mode
    return [v.name in trainable for v in model.variables]


def parameter_counts(model):
    """Sizes of the graph's ``TRAINABLE_VARIABLES`` and of its other ``GLOBAL_VARIABLES``."""
    trainable = {v.name for v in model.trainable_variables}
    sizes = [(v.name in trainable, v.shape.num_elements()) for v in model.variables]
    return sum(n for t, n in sizes if t), sum(n for t, n in sizes if not t)


def predict(model, X, training=False):
    """``session.run(output)`` with the training flag fed."""
    return model.session.run(model.output, model.feed(X, training=training))


def loss_and_gradients(model, X, y, task):
    """``session.run([loss, gradients])`` in training mode; ``UPDATE_OPS`` are not run."""
    if task != model.task:
        raise ValueError(f"this TF1 graph was built for {model.task}, not {task}")
    loss, grads = model.session.run([model.loss, model.gradients], model.feed(X, y, training=True))
    return loss, grads


class Trainer:
    """The TF1 training step: ``session.run([train_op, loss], feed_dict=...)``, ``UPDATE_OPS`` included."""

    def __init__(self, model, task, config, clip=None, record_norm=False):
        if task != model.task:
            raise ValueError(f"this TF1 graph was built for {model.task}, not {task}")
        self.model = model
        train_op, norm, clipped = model.train_op(config, clip)
        self._fetches = [train_op, model.loss, model.n_correct] + ([norm, clipped] if record_norm else [])

    def step(self, X, y):
        """One update on a batch: (mean loss, number correct or nan, gradient norm or nan, clipped)."""
        m = self.model
        values = m.session.run(self._fetches, feed_dict=m.feed(X, y, training=True))
        norm, clipped = values[3:] if len(values) > 3 else (float("nan"), False)
        return float(values[1]), float(values[2]), float(norm), bool(clipped)

    def evaluate(self, X, y):
        """(mean loss, n correct or nan) with moving statistics (``training`` False)."""
        m = self.model
        loss, correct = m.session.run([m.loss, m.n_correct], feed_dict=m.feed(X, y))
        return float(loss), float(correct)


_ACTIVATION_OPS = {"Sigmoid", "Tanh", "Relu", "Elu", "Selu", "LeakyRelu", "Softplus"}


def layer_values(model, X, y, task):
    """Per ``dense`` layer (found by its ``kernel`` variable): z, its activation a and dL/dz."""
    if not hasattr(model, "_layer_tensors"):
        model._layer_tensors = _layer_tensors(model)
    pairs, dz = model._layer_tensors
    values = model.session.run([pairs, dz], model.feed(X, y, training=True))
    return [{"z": z, "a": a, "dz": g} for (z, a), g in zip(*values)]


def _layer_tensors(model):
    """``([(z, a), ...], [dL/dz, ...])`` of the graph's dense layers, looked up and built once."""
    graph, pairs = model.graph, []
    for kernel in [v for v in model.variables if v.name.endswith("/kernel:0")]:
        scope = kernel.name[:-len("/kernel:0")]
        names = (f"{scope}/BiasAdd", f"{scope}/MatMul", f"{scope}/Tensordot")
        op = next(graph.get_operation_by_name(n) for n in names if _has_op(graph, n))
        z = op.outputs[0]
        if _has_op(graph, f"{scope}/activation"):       # named by companion.activations.tf1
            pairs.append((z, graph.get_operation_by_name(f"{scope}/activation").outputs[0]))
            continue
        consumers = [c for c in z.consumers() if c.type in _ACTIVATION_OPS]
        pairs.append((z, consumers[0].outputs[0] if consumers else z))
    with graph.as_default():
        return pairs, tf.gradients(model.loss, [z for z, _ in pairs])


def _has_op(graph, name):
    try:
        graph.get_operation_by_name(name)
        return True
    except KeyError:
        return False


def activation_derivative(name, z, alpha):
    """dσ(z)/dz of the course's TF1 activation by ``tf.gradients`` in a graph, in ``z``'s dtype."""
    return _run_activation(name, z, alpha, derivative=True)


def activation_values(name, z, alpha):
    """The course's TF1 activation of ``name`` run on ``z`` in a graph."""
    return _run_activation(name, z, alpha, derivative=False)


def _run_activation(name, z, alpha, derivative):
    from companion import activations
    with tf.Graph().as_default() as graph:
        x = v1.placeholder(tf.as_dtype(z.dtype), z.shape)
        a = activations.tf1(name, alpha)(x)
        out = tf.gradients(a, x)[0] if derivative else a
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            return session.run(out, {x: z})


def clip_arrays(gradients, clip):
    """``(clipped, norm)``: ``gradients`` (float32 arrays) clipped by TensorFlow's ops in a graph; the
    norm is what ``tf.clip_by_global_norm`` returns beside them (None for the other kinds)."""
    with tf.Graph().as_default(), v1.Session() as session:
        grads = [tf.constant(g) for g in gradients]
        if clip.kind == "global_norm":
            clipped, norm = tf.clip_by_global_norm(grads, clip.threshold)
            values, norm = session.run([clipped, norm])
            return values, float(norm)
        return session.run(clip_gradients(grads, clip)[0]), None


def batch_norm_gradients(x, gamma, beta, dy, epsilon):
    """The course's TF1 ``batch_normalization(training=True)`` in a graph; ``tf.gradients`` of sum(dy * y)."""
    from companion.tf1.layers import batch_normalization
    with tf.Graph().as_default() as graph:
        inputs = v1.placeholder(tf.as_dtype(x.dtype), x.shape)
        y = batch_normalization(inputs, training=True, epsilon=epsilon,
                                gamma_initializer=v1.constant_initializer(gamma),
                                beta_initializer=v1.constant_initializer(beta))
        gamma_var, beta_var = [v for v in v1.trainable_variables()]
        grads = tf.gradients(tf.reduce_sum(y * dy), [inputs, gamma_var, beta_var])
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            return session.run([y, *grads], {inputs: x})
