"""The activation hooks: with a stand-in module (any object with
register_forward_hook), and with a real PyTorch network when torch is
installed (Debian's python3-torch; the checks are skipped, not passed,
without it)."""
import numpy as np

import acthist
from check import check, run


class Handle:
    def __init__(self, hooks, fn):
        self.hooks, self.fn = hooks, fn

    def remove(self):
        self.hooks.remove(self.fn)


class DoubleModule:
    """Returns 2 x (and, if asked, a tuple whose first element is that)."""

    def __init__(self, as_tuple=False):
        self.hooks, self.as_tuple = [], as_tuple

    def register_forward_hook(self, fn):
        self.hooks.append(fn)
        return Handle(self.hooks, fn)

    def __call__(self, x):
        out = 2 * np.asarray(x)
        if self.as_tuple:
            out = (out, "state")
        for fn in list(self.hooks):
            fn(self, (x,), out)
        return out


def test_recorder_standin():
    a, b = DoubleModule(), DoubleModule(as_tuple=True)
    xs = [np.arange(12.0).reshape(2, 2, 3) + k for k in range(3)]
    with acthist.ActivationRecorder({"a": a, "b": b}) as rec:
        for x in xs:
            a(x)
            b(x)
        got = rec.activations("a")
        check(got.shape == (6, 6) and got.dtype == np.float32, str(got.shape))
        want = 2 * np.concatenate([x.reshape(2, 6) for x in xs])
        check(np.array_equal(got, want), "recorded activations")
        check(np.array_equal(rec.activations("b"), want), "tuple outputs")
        rec.clear()
        check(rec.activations("a").shape[0] == 0, "clear")
        a(xs[0])
    check(a.hooks == [] and b.hooks == [], "hooks removed on exit")
    a(xs[1])
    check(rec.activations("a").shape[0] == 2, "nothing recorded after exit")


def test_torch():
    try:
        import torch
    except ImportError:
        print("test_hooks: torch is not installed, its checks skipped")
        return
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 3))
    xs = [torch.randn(50, 8) for _ in range(4)]
    loader = [(x, torch.randint(0, 3, (50,))) for x in xs]
    with acthist.ActivationRecorder([net[1]]) as rec, torch.no_grad():
        for x, _ in loader:
            net(x)
    acts = rec.activations()
    with torch.no_grad():  # batch by batch: BLAS may round a larger one
        want = torch.cat([torch.relu(net[0](x)) for x in xs]).numpy()
        pred = torch.cat([net(x).argmax(1) for x in xs]).numpy()
    check(np.array_equal(acts, want), "recorded ReLU outputs")
    ref = acthist.Model.fit(acts, labels=pred, bins=64)
    m = acthist.Model.fit_batches(
        acthist.activation_batches(net, net[1], loader), bins=64)
    check(m.to_bytes() == ref.to_bytes(),
          "fit_batches(activation_batches) differs from fit(recorded)")
    given = np.concatenate([y.numpy() for _, y in loader])
    mg = acthist.Model.fit_batches(
        acthist.activation_batches(net, net[1], loader, labels="given"),
        bins=64)
    check(mg.to_bytes() == acthist.Model.fit(acts, labels=given,
                                             bins=64).to_bytes(),
          "labels='given'")
    check(len(net[1]._forward_hooks) == 0, "no hook left on the module")
    s = m.score(torch.relu(net[0](xs[0])).detach(), labels=pred[:50])
    check(s.score.shape == (50,) and np.all(s.score >= 0), "score a tensor")


run("test_hooks", [test_recorder_standin, test_torch])
