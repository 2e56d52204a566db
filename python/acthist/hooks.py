"""PyTorch forward hooks that collect a network's activations as NumPy
arrays, for Model.fit, Model.fit_batches and Model.score.

torch is not imported here: the hooks take whatever the modules return
(a tensor, or a tuple whose first element is one) and convert it with
.detach().cpu().numpy(), so any framework whose modules offer
register_forward_hook works the same way.
"""
import numpy as np


def to_rows(output, dtype=np.float32):
    """A module's output as a 2-D array (batch, nodes), copied."""
    if isinstance(output, (tuple, list)):
        output = output[0]
    t = output
    for step in ("detach", "cpu"):
        if hasattr(t, step):
            t = getattr(t, step)()
    a = t.numpy() if hasattr(t, "numpy") else np.asarray(t)
    if a.ndim == 0:
        raise ValueError("acthist: a module returned a scalar, not a batch")
    return np.array(a.reshape(a.shape[0], -1), dtype=dtype, copy=True)


class ActivationRecorder:
    """Record the outputs of named modules on every forward pass.

        rec = ActivationRecorder({"fc1": net.fc1})
        with rec, torch.no_grad():
            for x, _ in loader:
                net(x)
        model = acthist.Model.fit(rec.activations("fc1"))

    The hooks are removed on leaving the `with` block or by remove()."""

    def __init__(self, modules, dtype=np.float32):
        if not isinstance(modules, dict):
            modules = {str(k): m for k, m in enumerate(modules)}
        if not modules:
            raise ValueError("acthist: ActivationRecorder needs a module")
        self.dtype = dtype
        self._chunks = {name: [] for name in modules}
        self._handles = [m.register_forward_hook(self._hook(name))
                         for name, m in modules.items()]

    def _hook(self, name):
        def hook(module, inputs, output):
            self._chunks[name].append(to_rows(output, self.dtype))
        return hook

    @property
    def names(self):
        return list(self._chunks)

    def activations(self, name=None):
        """Everything recorded for one module, (n, D); name may be left out
        when there is one module."""
        if name is None:
            if len(self._chunks) != 1:
                raise ValueError("acthist: name one of %s" % self.names)
            name = self.names[0]
        chunks = self._chunks[name]
        if not chunks:
            return np.zeros((0, 0), dtype=self.dtype)
        return np.concatenate(chunks, axis=0)

    def clear(self):
        for c in self._chunks.values():
            c.clear()

    def remove(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def activation_batches(net, module, loader, labels="predicted"):
    """A function returning, each time it is called, an iterator over
    loader's batches of (activations of module, labels): what
    Model.fit_batches takes, so that a background never sits in memory.
    labels: "predicted" (the class net predicts, argmax of its output),
    "given" (the loader's second element) or None (activations alone).
    The network runs once per pass of the fit, under torch.no_grad()."""
    if labels not in ("predicted", "given", None):
        raise ValueError("acthist: labels must be 'predicted', 'given' or "
                         "None, not %r" % (labels,))

    def make():
        import torch
        with ActivationRecorder({"m": module}) as rec:
            for batch in loader:
                x = batch[0] if isinstance(batch, (tuple, list)) else batch
                with torch.no_grad():  # not across the yield: the caller's
                    out = net(x)       # code runs there
                act = rec.activations("m")
                rec.clear()
                if labels is None:
                    yield act
                elif labels == "given":
                    yield act, to_rows(batch[1], np.int64).reshape(-1)
                else:
                    yield act, to_rows(out).argmax(axis=1)
    return make
