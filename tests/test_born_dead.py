"""The dying-ReLU chapter's born-dead networks (companion.experiments.born_dead), at tiny sizes."""
import math

import numpy as np
import pytest

from companion.experiments import born_dead as bd

WIDTHS, DEPTHS, N_NETS = range(1, 6), range(1, 9), 2000   # 40 cells, a few milliseconds each run
RNG = np.random.default_rng(0)
X = RNG.standard_normal((50, 12)).astype(np.float32)


def test_formula_known_values():
    assert bd.born_dead_probability(1, 1) == pytest.approx(0.5)
    assert bd.born_dead_probability(2, 2) == pytest.approx(1 - 0.75 ** 2)
    assert bd.born_dead_probability(3, 0) == 0
    grid = bd.born_dead_probability(np.arange(1, 11)[:, None], np.arange(1, 51)[None, :])
    assert grid.shape == (10, 50)
    assert np.all(np.diff(grid, axis=0) < 0) and np.all(np.diff(grid, axis=1) > 0)  # fewer dead if wider
    assert bd.born_dead_probability(30, 1) == pytest.approx(2.0 ** -30, rel=1e-12)   # no cancellation


def test_exact_binomial_p_value():
    assert bd.binomial_p_value(0, 10, 0.5) == pytest.approx(2 / 1024)
    assert bd.binomial_p_value(10, 10, 0.5) == pytest.approx(2 / 1024)
    assert bd.binomial_p_value(2, 10, 0.5) == pytest.approx(2 * (1 + 10 + 45) / 1024)
    assert bd.binomial_p_value(5, 10, 0.5) == pytest.approx(1.0)
    # Binomial(4, 1/4): P = 81, 108, 54, 12, 1 (/256); outcomes no likelier than 3 are 3 and 4.
    assert bd.binomial_p_value(3, 4, 0.25) == pytest.approx(13 / 256)
    assert bd.binomial_p_value(0, 4, 0.25) == pytest.approx((81 + 54 + 12 + 1) / 256)
    assert bd.binomial_p_value(0, 5, 0.0) == 1 and bd.binomial_p_value(1, 5, 0.0) == 0
    assert bd.binomial_p_value(5, 5, 1.0) == 1
    # Large n, in log space: 3 standard errors off is about the normal tail 0.0027.
    n, p = 20_000, 0.3
    k = round(n * p + 3 * math.sqrt(n * p * (1 - p)))
    assert 0.002 < bd.binomial_p_value(k, n, p) < 0.0035


def test_monte_carlo_table():
    table = bd.monte_carlo([3, 2], [4, 2, 4], 500, seed=1, input_dim=5)
    assert list(table.width) == [2, 2, 3, 3] and list(table.hidden_layers) == [2, 4, 2, 4]
    assert {"n_nets", "dead", "observed", "predicted", "se", "p_value"} <= set(table)
    assert np.all(table.observed == table.dead / 500)
    assert np.allclose(table.predicted, bd.born_dead_probability(table.width, table.hidden_layers))
    assert np.all((table.p_value >= 0) & (table.p_value <= 1))
    # A cell is the first layers of the same nets, whatever else is asked for.
    alone = bd.monte_carlo(2, 2, 500, seed=1, input_dim=5)
    assert alone.dead[0] == table.dead[0]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_monte_carlo_agrees_with_formula(seed):
    summary = bd.agreement(bd.monte_carlo(WIDTHS, DEPTHS, N_NETS, seed=seed))
    assert summary["agrees"], summary
    assert summary["cells"] == 40 and summary["beyond_3se"] <= summary["allowed"]
    assert summary["chi2"] <= summary["chi2_limit"] and summary["dof"] > 20


@pytest.mark.parametrize("wrong", [lambda w, d: bd.born_dead_probability(w, d + 5),
                                   lambda w, d: 1 - (1 - 2.0 ** (1 - w)) ** d,
                                   lambda w, d: bd.born_dead_probability(w, d) * 0.9])
def test_agreement_rejects_a_wrong_formula(wrong):
    """The decision rule has power: the same draws, compared with a wrong prediction, fail."""
    for seed in (0, 1, 2):
        table = bd.monte_carlo(WIDTHS, DEPTHS, N_NETS, seed=seed)
        summary = bd.agreement(table.assign(predicted=wrong(table.width, table.hidden_layers)))
        assert not summary["agrees"], summary


def test_agreement_allowance_and_validation():
    table = bd.monte_carlo(WIDTHS, DEPTHS, N_NETS, seed=0)
    summary = bd.agreement(table)
    # P(Binomial(40, 0.0027) > 2) = 1.8e-4 <= 5e-4 < P(> 1) = 5.3e-3.
    assert summary["allowed"] == 2 and summary["fraction"] == summary["beyond_3se"] / 40
    with pytest.raises(ValueError, match="columns"):
        bd.agreement(table.drop(columns="dead"))
    with pytest.raises(ValueError, match="nested"):     # cells of independent draws would break this
        bd.agreement(table.assign(dead=table.dead[::-1].to_numpy()))
    with pytest.raises(ValueError, match="false_failure"):
        bd.agreement(table, false_failure=0)


def test_dead_on_data_table_and_bounds():
    table = bd.dead_on_data([2, 3], [1, 3, 6], X, 300, seed=0)
    assert len(table) == 6 and set(table.n_inputs) == {50}
    for column in ("observed", "observed_first", "predicted"):
        assert np.all((table[column] >= 0) & (table[column] <= 1))
    assert np.all(table.dead <= table.dead_first)
    assert table.dead.sum() < table.dead_first.sum()          # 50 inputs keep more nets alive
    assert np.all(np.diff(table.dead.to_numpy().reshape(2, 3), axis=1) >= 0)


def test_death_layers_net_by_net():
    all_inputs, first_input = bd.death_layers_on_data(3, 6, X, 250, seed=4, chunk=60)
    assert all_inputs.shape == first_input.shape == (250,)
    assert np.all(first_input <= all_inputs) and np.all((first_input >= 1) & (all_inputs <= 7))
    # The nets do not depend on the rows of X: X[:1] gives, net by net, the first-input deaths
    # (up to float32 rounding ties between a 50-row and a 1-row product).
    alone, again = bd.death_layers_on_data(3, 6, X[:1], 250, seed=4, chunk=60)
    assert np.array_equal(alone, again)
    assert np.mean(alone == first_input) > 0.99


def test_one_example_data_set_follows_the_formula():
    for seed in (0, 1):
        table = bd.dead_on_data(range(1, 5), range(1, 7), X[:1], N_NETS, seed=seed)
        assert np.array_equal(table.dead, table.dead_first)
        assert bd.agreement(table)["agrees"]


@pytest.mark.parametrize("call, message", [
    (lambda: bd.born_dead_probability(0, 3), "width"),
    (lambda: bd.born_dead_probability(2, -1), "hidden_layers"),
    (lambda: bd.born_dead_probability(2.5, 1), "width"),
    (lambda: bd.binomial_p_value(11, 10, 0.5), "more than"),
    (lambda: bd.binomial_p_value(1, 10, 1.5), "p must be"),
    (lambda: bd.monte_carlo([], [1], 10), "widths"),
    (lambda: bd.monte_carlo([2], [0, 1], 10), "hidden_layers"),
    (lambda: bd.monte_carlo([2], [1], 0), "n_nets"),
    (lambda: bd.monte_carlo([2], [1], 10, seed=-1), "seed"),
    (lambda: bd.monte_carlo([2], [1], 10, input_dim=0), "input_dim"),
    (lambda: bd.dead_on_data([2], [1], X.reshape(50, 3, 4), 10), "2-D"),
    (lambda: bd.dead_on_data([2], [1], np.full((3, 2), np.nan), 10), "finite"),
    (lambda: bd.dead_on_data([2], [1], np.zeros((0, 4)), 10), "2-D"),
    (lambda: bd.death_layers_on_data(2, 3, X, 10, chunk=0), "chunk"),
    (lambda: bd.agreement([1, 2, 3]), "DataFrame"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
