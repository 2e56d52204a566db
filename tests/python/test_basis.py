"""The decorrelated basis from Python: its components against NumPy's
np.linalg.eigh of the same scatter (the subspace, through the projector
V V^T, since signs and the order within equal eigenvalues are free), the
pooled and per-label means, the transform's residual, and Model.basis /
info / save and load."""
import numpy as np

import acthist
from check import check, run


def data(n=3000, d=12, seed=5):
    r = np.random.default_rng(seed)
    scales = np.linspace(3.0, 0.2, d)          # distinct variances
    mix = np.linalg.qr(r.normal(size=(d, d)))[0]
    x = (r.normal(size=(n, d)) * scales) @ mix.T + np.arange(d)
    lab = r.integers(0, 3, size=n)
    x[lab == 1] *= 1.5
    return x, lab


def our_basis(m, d, lab=None):
    """V (d x r) and the mean from the transform: z(x) = V^T (x - mu)."""
    def z(x):
        labels = None if lab is None else np.full(x.shape[0], lab)
        return m.transform(x, labels, pooled=lab is None)[:, d:d + r]
    r = m.info()["basis_components"]
    z0 = z(np.zeros((1, d)))[0]
    v = z(np.eye(d)) - z0
    return v, -v @ z0


def projector_gap(x, v, r):
    c = x - x.mean(axis=0)
    w, u = np.linalg.eigh(c.T @ c)
    top = u[:, np.argsort(w)[::-1][:r]]
    return np.abs(top @ top.T - v @ v.T).max()


def test_against_eigh():
    x, lab = data()
    d, r = x.shape[1], 4
    m = acthist.Model.fit(x, lab, basis="pca", basis_components=r)
    check(m.basis == "pca" and m.info()["scanned_nodes"] == d + r + 1,
          "pca basis, %d scanned nodes" % m.info()["scanned_nodes"])
    v, _ = our_basis(m, d)
    check(np.abs(v.T @ v - np.eye(r)).max() < 1e-6, "V orthonormal")
    gap = projector_gap(x, v, r)
    check(gap < 1e-5, "pooled subspace against eigh: %.2g" % gap)
    for c in range(3):
        v, mu = our_basis(m, d, c)
        gap = projector_gap(x[lab == c], v, r)
        check(gap < 1e-5, "label %d subspace against eigh: %.2g" % (c, gap))
        xc = x[lab == c]
        t = m.transform(xc[:50], np.full(50, c))
        cen = xc[:50] - xc.mean(axis=0)
        res = np.sqrt(np.maximum(0, (cen ** 2).sum(1) - (t[:, d:d + r] ** 2)
                                 .sum(1)))
        check(np.abs(t[:, d + r] - res).max() < 1e-6 * (1 + res.max()),
              "label %d residual norm" % c)
        check(np.array_equal(t[:, :d], xc[:50]), "the raw nodes come first")


def test_model_round_trip():
    x, lab = data(n=600, d=6)
    m = acthist.Model.fit(x, lab, basis="pca", basis_components=2)
    m2 = acthist.Model.from_bytes(m.to_bytes())
    check(m2.basis == "pca" and m2.to_bytes() == m.to_bytes(),
          "save and load: the same bytes")
    p1, p2 = m.pvalues(x[:50], lab[:50]), m2.pvalues(x[:50], lab[:50])
    check(p1.shape == (50, 6 + 2 + 1, 2) and np.array_equal(p1, p2),
          "p-values over the scanned nodes, equal after loading")
    check(((p1 >= 0) & (p1 <= 1)).all(), "p-values in [0, 1]")
    check(acthist.Model.fit(x, lab).basis == "none",
          "the default is no basis")


run("test_basis", [test_against_eigh, test_model_round_trip])
