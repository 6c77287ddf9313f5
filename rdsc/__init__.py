"""rdsc: the support package of the book on random depthwise signed convolutional networks.

Every module, by the chapter that first needs it (later chapters reuse earlier ones; the
README's Layout table and the book's introduction list the same modules, and a test keeps
the three lists complete). To read the code, start with :mod:`rdsc.network`, then
:mod:`rdsc.features`, :mod:`rdsc.classify` and one chapter's module.

Every chapter's support:

- :mod:`rdsc.data`: datasets as uint8 tensors with the paper's preprocessing, cached.
- :mod:`rdsc.book`: a chapter's profile, seed and results file, glue.
- :mod:`rdsc.checks`: checks of parameters, with errors that say what to give.
- :mod:`rdsc.paths`: where datasets, caches, trained models and results live.
- :mod:`rdsc.model_cache`: trained models on disk, found, checked and shared by chapters.
- :mod:`rdsc.paper`: the paper's numbers, quoted.
- :mod:`rdsc.headlines`: one line per claim for the introduction's tables.
- :mod:`rdsc.plots`: the figures that take more than a few lines to draw (chapters 2, 5-8).
- :mod:`rdsc.progress`: progress bars, only on a terminal.
- :mod:`rdsc.rng`: functions that seed torch's global generator leave the caller's as it was.
- :mod:`rdsc.threads`: a block run on a set CPU thread count (chapter 5's solver shortfall,
  chapter 6's MLP head), so its numbers do not change with the core count.
- :mod:`rdsc.strict_json`: results files that every JSON parser reads (NaN as ``"NaN"``).

Building and running the book:

- :mod:`rdsc.chapters`: converting and running chapters with papermill.
- :mod:`rdsc.prepare`: putting the datasets into the data root.
- :mod:`rdsc.build_inputs`: what the executed pages depend on beyond their code, so that
  ``make book`` knows when to run every chapter again.
- :mod:`rdsc.record`: paper-profile records, chapters run as scripts on a GPU.

By chapter. Beside the computations of chapters 3 to 8, a ``*_words`` module says what
they show: the sentences and verdict words, from numbers only, tested (chapter 8's is
:mod:`rdsc.background.words`); chapters 1 and 2 keep their few readings beside the
computation (:mod:`rdsc.hyperplanes`, :mod:`rdsc.measure`). :mod:`rdsc.headlines` builds
the introduction's line per claim by the same rules.

1. :mod:`rdsc.hyperplanes`: the first layer as random hyperplanes through patch space.
2. :mod:`rdsc.network`: the random depthwise signed network and its literal k-block form;
   :mod:`rdsc.features`: the fast, streaming, resumable feature engine and its cache;
   :mod:`rdsc.npy_files`: ``.npy`` files written row by row, safely (the cache's protocol);
   :mod:`rdsc.fused`: its fused Triton kernels on CUDA; :mod:`rdsc.measure`: time and peak
   memory of an extraction.
3. :mod:`rdsc.classify`: the paper's linear SVM, top-k accuracy; :mod:`rdsc.choose_c`: C
   from a validation split; :mod:`rdsc.solver_check`: the torch SVM against liblinear;
   :mod:`rdsc.seeds`: accuracy over several weight draws; :mod:`rdsc.intervals`: every
   generic interval, which later chapters reuse; :mod:`rdsc.lossless`: JPEG against lossless images;
   :mod:`rdsc.mlp_head`: an MLP on the features; :mod:`rdsc.dataset_svm`: features and SVM of
   a whole dataset in one call (MNIST); :mod:`rdsc.classify_words`: what the runs show, in
   the chapter's words.
4. :mod:`rdsc.baselines`: final layers and tables; :mod:`rdsc.baselines_words`: what they
   show, in the chapter's words and verdicts; :mod:`rdsc.deepnets`: VGG16,
   ResNet18, DenseNet-40, random-weight and trained; :mod:`rdsc.unsupervised`: k-means
   features; :mod:`rdsc.peers`: scattering and random convolutional features;
   :mod:`rdsc.cnn`: a small trained CNN, cached (chapters 6, 7 and 8 use it too).
5. :mod:`rdsc.separation`: class-separation ratio and SVM margins, with their controls;
   :mod:`rdsc.separation_words`: what they show, in the chapter's words and verdicts.
6. :mod:`rdsc.retrieval`: k-NN retrieval metrics, leave-one-out, cross-fitting, paired
   comparisons; :mod:`rdsc.representations`: what the random features are compared with
   (pixels, colour histograms, trained networks' last hidden layers);
   :mod:`rdsc.retrieval_words`: what they show, in the chapter's words and verdicts.
7. :mod:`rdsc.attacks`: the network + SVM as a Foolbox model, and the attacks;
   :mod:`rdsc.attack_words`: what they show, in the chapter's words and verdicts.
8. :mod:`rdsc.background`: foreground/background composites and the mean-colour mechanism.

For use outside the book:

- :mod:`rdsc.transformer`: :class:`RandomDepthwiseSignFeatures`, a scikit-learn transformer.
- :mod:`rdsc.streaming`: image folders, Datasets and DataLoaders as streams of batches
  (:class:`ImageFolderStream`), for data larger than memory.
- :mod:`rdsc.feature_files`: features into one ``.npy`` file, by one process or many
  (torchrun), resumable (:func:`write_features`, :func:`load_features`).
- :mod:`rdsc.cli` (and ``__main__``): ``python -m rdsc features ...`` and
  ``python -m rdsc evaluate ...``.
"""

# Exported lazily, so that ``import rdsc.data`` does not import scikit-learn or torch.distributed.
_EXPORTS = {
    "RandomDepthwiseSignFeatures": "rdsc.transformer",
    "ImageFolderStream": "rdsc.streaming",
    "write_features": "rdsc.feature_files",
    "load_features": "rdsc.feature_files",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        import importlib
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rdsc' has no attribute {name!r}")
