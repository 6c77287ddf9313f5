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
"""
