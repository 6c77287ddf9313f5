"""rdsc: the support package of the book on random depthwise signed convolutional networks.

Modules, in the order the chapters use them:

- :mod:`rdsc.data`: datasets as uint8 tensors with the paper's preprocessing, cached.
- :mod:`rdsc.network`: the random depthwise signed network and its literal k-block form.
- :mod:`rdsc.hyperplanes`: the first layer as random hyperplanes through patch space.
- :mod:`rdsc.features`: the fast, streaming, resumable feature engine.
- :mod:`rdsc.classify`: the paper's linear SVM, top-k accuracy.
- :mod:`rdsc.separation`: class-separation ratio and SVM margins.
- :mod:`rdsc.measure`, :mod:`rdsc.progress`: cost of an extraction; progress bars.
- :mod:`rdsc.book`, :mod:`rdsc.chapters`, :mod:`rdsc.paths`, :mod:`rdsc.paper`: the chapters'
  profiles, results and glue; running chapters; where data lives; the paper's numbers.

For use outside the book:

- :mod:`rdsc.transformer`: :class:`RandomDepthwiseSignFeatures`, a scikit-learn transformer.
- :mod:`rdsc.streaming`: image folders, Datasets and DataLoaders as streams of batches
  (:class:`ImageFolderStream`), for data larger than memory.
- :mod:`rdsc.distributed`: features into one ``.npy`` file, by one process or many
  (torchrun), resumable (:func:`write_features`, :func:`load_features`).
- :mod:`rdsc.cli`: ``python -m rdsc features ...`` and ``python -m rdsc evaluate ...``.
"""

# Exported lazily, so that ``import rdsc.data`` does not import scikit-learn or torch.distributed.
_EXPORTS = {
    "RandomDepthwiseSignFeatures": "rdsc.transformer",
    "ImageFolderStream": "rdsc.streaming",
    "write_features": "rdsc.distributed",
    "load_features": "rdsc.distributed",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        import importlib
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rdsc' has no attribute {name!r}")
