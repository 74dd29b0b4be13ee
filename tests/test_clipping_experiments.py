"""The clipping chapter's experiments at tiny sizes: the numbers the chapter builds its claims on."""
import numpy as np
import pytest

from companion import data as course_data
from companion.experiments import clipping
from companion.registry import FRAMEWORKS


def test_seed_example_table():
    table = clipping.seed_example()
    np.testing.assert_allclose(table.loc["value", ["g1", "g2"]], [0.9, 1.0])
    np.testing.assert_allclose(table.loc["norm", ["g1", "g2"]], [0.00899964, 0.9999595], rtol=1e-6)
    assert table.loc["norm", "cosine"] == pytest.approx(1.0)
    assert table.loc["value", "angle_degrees"] == pytest.approx(41.47, abs=0.01)


def test_the_frameworks_agree_with_the_reference():
    table = clipping.framework_semantics(clipping.example_gradients())
    assert len(table) == 9 and (table["max_difference"] < 1e-5).all()
    returns = table.set_index(["framework", "kind"])["returns_norm"].notna()
    assert set(returns[returns].index) == {("tf1", "global_norm"), ("torch", "global_norm")}
    by_kind = table.groupby("kind")
    assert (by_kind["norm_after"].std() < 1e-5).all()
    cosine = by_kind["cosine"].mean()
    assert cosine["global_norm"] == pytest.approx(1.0) and cosine["norm"] < 0.9 and cosine["value"] < cosine["norm"]


def test_the_cliff_is_thin():
    """The ratio of the largest to the median gradient norm grows with the grid's resolution."""
    small, large = (clipping.cliff_ratio(clipping.rnn_surface(n)[3]) for n in (101, 301))
    assert small < 1e3 < large


def test_clipped_descent_never_steps_beyond_lr_times_threshold():
    for lr in (0.1, 0.01):
        plain = clipping.descent_from_starts(50, 0, lr, 300)
        clipped = clipping.descent_from_starts(50, 0, lr, 300, threshold=1.0)
        assert clipped["max_step"] <= lr * 1.0 * (1 + 1e-9) < plain["max_step"]
        assert 0 < clipped["clipped_share"] < 1


@pytest.fixture(scope="module")
def small_data():
    return course_data.load_fashion_mnist(subset=1000)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_tanh_network_explodes_without_clipping_and_learns_with_it(framework, small_data):
    for seed in (0, 1):
        _, plain = clipping.clipped_training(framework, small_data, seed, None, epochs=1)
        _, clipped = clipping.clipped_training(framework, small_data, seed, ("global_norm", 1.0), epochs=1)
        assert plain["loss"] > 8 and plain["clipped_share"] == 0
        assert clipped["val_loss"] < 1.5 < plain["val_loss"] and clipped["clipped_share"] == 1.0


def test_the_seed_program_runs_start_alike_and_value_clipping_agrees(small_data):
    table, histories = clipping.seed_program(small_data, seeds=[0], epochs=1)
    assert list(zip(table["framework"], table["clip"])) == [
        ("tf1", "value 1"), ("keras", "value 1"), ("torch", "value 1"), ("keras", "norm 1"), ("torch", "none")]
    first = table["first_loss"]
    assert first.max() - first.min() < 1e-5, "all the runs of a seed start from the same weights"
    value = table[table["clip"] == "value 1"]
    assert value["val_loss"].max() - value["val_loss"].min() < 1e-4
    assert set(histories) == {(f, c, 0) for f, c in zip(table["framework"], table["clip"])}


def test_the_threshold_sweep_has_a_row_per_seed_and_threshold(small_data):
    table, histories = clipping.threshold_sweep("torch", small_data, seeds=[0, 1], thresholds=[1.0, 20.0], steps=8)
    assert len(table) == 6 and table["threshold"].isna().sum() == 2
    assert set(histories) == {(t, s) for s in (0, 1) for t in (None, 1.0, 20.0)}
    one = table[table["threshold"] == 1.0]
    assert (one["clipped_share"] == 1.0).all() and (table[table["threshold"].isna()]["clipped_share"] == 0).all()
    assert (table["mean_norm"] >= 0).all() and (table["max_norm"] >= table["median_norm"]).all()


def test_a_nudge_is_a_few_ulps_and_the_round_off_sweep_has_a_row_per_run(small_data):
    weights = [np.full((3, 4), 0.5, np.float32), np.zeros(4, np.float32)]
    moved = clipping.nudged(weights, 1e-6, seed=0)
    assert all(m.dtype == w.dtype and m.shape == w.shape for m, w in zip(moved, weights))
    assert 0 < np.abs(moved[0] / weights[0] - 1).max() < 1e-5 and not moved[1].any()
    assert not np.array_equal(moved[0], clipping.nudged(weights, 1e-6, seed=1)[0])
    table = clipping.round_off_sweep("torch", small_data, seeds=[0, 1], thresholds=[1.0, 20.0], nudges=2, steps=8)
    assert len(table) == 8 and sorted(set(table["nudge"])) == [1, 2]
    assert (table[table["threshold"] == 1.0]["clipped_share"] == 1.0).all()
    again = clipping.round_off_sweep("torch", small_data, seeds=[0], thresholds=[1.0], nudges=1, steps=8)
    assert again["first_loss"].iloc[0] == table["first_loss"].iloc[0], "the same nudge on the same seed"
    sweep, _ = clipping.threshold_sweep("torch", small_data, seeds=[0], thresholds=[1.0], steps=8)
    assert 0 < abs(again["first_loss"].iloc[0] - sweep["first_loss"].iloc[1]) < 1e-3, "nudged, only a little"
