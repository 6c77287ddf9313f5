"""How much a classifier relies on the image background (chapter 8).

No segmentation masks exist for the book's datasets, so foreground and background are
defined by geometry: the **centre** of an image is the share ``fraction`` of its pixels
nearest the image's centre (a disc; the book's half, :data:`BOOK_FRACTION`, within
:data:`FRACTION_RANGE`, :func:`check_fraction`), the **ring** is the rest. Test images are
then altered (:func:`make_conditions`):

* ``ring, other class``: the ring replaced by the ring of an image of another class (the donor);
* ``ring, same class``: the ring from another image of the same class (control for the seam);
* ``centre, other class`` / ``centre, same class``: the mirror experiment;
* ``background only`` / ``foreground only``: the centre / the ring set to a mean grey;
* ``grayscale`` and ``hue rotated``: colour changed, context kept.

Images are ``N x 3 x H x W`` uint8 tensors throughout; labels int64 arrays of length N.

The package also holds the measures the chapter reports: donor capture
(:func:`donor_capture`), intervals from a bootstrap over images and network seeds
(:func:`rdsc.intervals.bootstrap_seeds_and_images`), how much of a first-layer unit's
sign the patch's mean colour decides (:func:`mean_colour_agreement`), and retrieval
helpers for Corel: leave-one-out precision and partial correlations of distances (colour
histograms of a region are :func:`rdsc.representations.colour_histogram` with ``where=``).
The chapter's steps call :func:`classifier_predictions` (every classifier on every
condition), :func:`first_layer_agreement` and :func:`blur_correlations` (the mechanism),
and :func:`retrieval_precision` (Corel).

The package, by step: :mod:`~rdsc.background.conditions` (the altered images),
:mod:`~rdsc.background.classifiers` (every classifier on every condition, with
:mod:`~rdsc.background.models` for the trained CNN), :mod:`~rdsc.background.summaries`
(costs and captures with intervals), :mod:`~rdsc.background.mechanism` (the mean colour
and blur), :mod:`~rdsc.background.colour_retrieval` (Corel),
:mod:`~rdsc.background.words` and :mod:`~rdsc.background.results` (the results files of a
run, with one run stamp). Every public name is also here, as
``rdsc.background.<name>``; the functions call each other through their own submodules,
so to replace one (a test's monkeypatch) patch it there, e.g.
``rdsc.background.classifiers.trained_deepnet_predictions``.
"""
from rdsc.background.conditions import (  # noqa: F401
    BOOK_FRACTION,
    CONDITIONS,
    FRACTION_RANGE,
    _check_images,
    _check_mask,
    centre_mask,
    check_fraction,
    check_hue_degrees,
    choose_donors,
    composite,
    fill,
    grayscale,
    grey_level,
    hue_change_words,
    hue_rotation_matrix,
    make_conditions,
    ring_mask,
    rotate_hue,
    slug,
)
from rdsc.background.models import (  # noqa: F401
    Downsampled,
    cnn_embedding,
    cnn_first_layer,
    downsample,
)
from rdsc.background.summaries import (  # noqa: F401
    _stack,
    accuracy_rows,
    capture_rate,
    control_shifts,
    cost_difference,
    donor_capture,
    donor_chance,
    effect_rows,
    effects_over_datasets,
    example_images,
)
from rdsc.background.mechanism import (  # noqa: F401
    blur_correlations,
    box_blur,
    column_correlations,
    correlation_summary,
    first_layer_agreement,
    mean_colour_agreement,
)
from rdsc.background.colour_retrieval import (  # noqa: F401
    PARTIAL_ROWS,
    centre_minus_ring,
    database_versions,
    distance_partial_correlations,
    euclidean_distances,
    l1_distances,
    partial_correlation,
    partial_correlation_table,
    precision_at,
    precision_drops,
    precision_rows,
    retrieval_precision,
)
from rdsc.background.classifiers import (  # noqa: F401
    CLASSIFIER_SETTINGS,
    HISTOGRAM_BINS,
    HISTOGRAM_C,
    HistogramSVM,
    classifier_predictions,
    classifier_settings,
    model_predictions,
    random_deepnet_predictions,
    random_net_predictions,
    trained_deepnet_predictions,
)
from rdsc.background.results import (  # noqa: F401
    SHARED,
    run_stamp,
    save_run,
)
from rdsc.background.words import (  # noqa: F401
    BLUR_MARGIN,
    CENTRE_GREY_QUESTION,
    MIN_BLUR_UNITS,
    NOT_RIGHT_CLEAN,
    RANDOM_AT_CHANCE,
    RING_GREY_QUESTION,
    advantage_reading,
    advantage_rows,
    advantage_verdict,
    agreement_reading,
    blur_fairness,
    blur_reading,
    capture_beside_chance,
    capture_text,
    centre_control,
    clean_above_chance,
    control_reading,
    cost_beyond_cnn,
    cost_difference_text,
    examples_note,
    interval_text,
    outcome_word,
    pitfall_beyond_cnn,
    pitfall_by_dataset,
    pitfall_over_datasets,
    pitfall_rows,
    pitfall_verdict,
    random_at_chance_note,
    relative_cost_text,
    split_reading,
)
