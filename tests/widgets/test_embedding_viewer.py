"""EmbeddingViewer without a browser: traits, what reaches the data source, caching, subsampling."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest
from bokeh.models import HoverTool

from medinterp_widgets import render
from medinterp_widgets.metrics import embed
from medinterp_widgets.widgets.embedding_viewer import EmbeddingViewer, class_keys
from medinterp_widgets.widgets.thumbnails import thumbnail_uri
from medinterp_widgets.widgets.transport import record_patches


@pytest.fixture(scope="module")
def data():
    """40 samples in 12-D, three classes, with 20x16 float64 grey images."""
    rng = np.random.default_rng(0)
    labels = np.arange(40) % 3
    features = rng.normal(size=(40, 12)) + 4.0 * labels[:, None]
    images = rng.random((40, 20, 16))
    return features, labels, images


def test_initial_pca_view_sends_float32_columns_and_thumbnails(data):
    features, labels, images = data
    viewer = EmbeddingViewer(features, labels, images, class_names=["normal", "HCM", "DCM"])
    columns = viewer.source.data
    assert (viewer.method, viewer.dims, viewer.notice, viewer.error) == ("pca", 2, "", "")
    assert all(columns[name].dtype == np.float32 for name in ("a", "b", "c"))
    order = columns["index"]
    np.testing.assert_allclose(np.stack([columns["a"], columns["b"]], 1), embed(features, "pca", 2)[order], atol=1e-6)
    names = np.array(["normal", "HCM", "DCM"])
    assert columns["label"] == list(names[labels[order]])
    assert list(dict.fromkeys(columns["label"])) == list(names)  # grouped in legend order
    assert len(columns["thumb"]) == 40 and columns["thumb"][0].startswith("data:image/png;base64,")
    assert "@thumb" in viewer.figures[0].select_one(HoverTool).tooltips
    assert [f.visible for f in viewer.figures] == [True, False, False]


def test_colours_are_stable_per_class(data):
    features, labels, _ = data
    _, colours, legend = class_keys(labels, ["normal", "HCM", "DCM"])
    assert legend == [("normal", render.LABEL_COLORS[0]), ("HCM", render.LABEL_COLORS[1]),
                      ("DCM", render.LABEL_COLORS[2])]
    _, only_dcm, _ = class_keys(labels[labels == 2])
    assert set(only_dcm) == {render.LABEL_COLORS[2]}  # the same class keeps its colour in a subset
    names, _, legend = class_keys(np.array(["covid", "non-covid", "covid"]))
    assert names == ["covid", "non-covid", "covid"] and [n for n, _ in legend] == ["covid", "non-covid"]


def test_method_and_dims_changes_send_no_float64_and_are_cached(data):
    features, labels, _ = data
    viewer = EmbeddingViewer(features, labels)
    with record_patches(viewer.figures[0]) as log:
        viewer.method = "kpca-rbf"
        viewer.dims = 3
    assert "float64" not in log.buffer_dtypes() and log.buffer_bytes() > 0
    assert [f.visible for f in viewer.figures] == [True, True, True]
    assert viewer.figures[2].xaxis.axis_label == "kPC2" and viewer.figures[2].yaxis.axis_label == "kPC3"
    first = viewer.result()
    viewer.method = "pca"
    viewer.method = "kpca-rbf"
    assert viewer.result() is first  # cached, not recomputed
    assert set(viewer._cache) == {("pca", 2, 0), ("kpca-rbf", 2, 0), ("kpca-rbf", 3, 0), ("pca", 3, 0)}


def test_large_sets_are_subsampled_with_a_notice(data):
    features, labels, images = data
    viewer = EmbeddingViewer(features, labels, images, point_limits={"tsne": 15})
    viewer.method = "tsne"
    assert "15 of 40" in viewer.notice and "subsample" in viewer.status.value
    indices = viewer.source.data["index"]
    assert len(indices) == 15 and sorted(set(labels[indices])) == [0, 1, 2]  # stratified
    assert viewer.source.data["thumb"][0] == viewer.thumbnails[indices[0]]
    viewer.method = "pca"
    assert viewer.notice == "" and len(viewer.source.data["index"]) == 40


def test_selection_maps_back_to_sample_indices(data):
    features, labels, _ = data
    viewer = EmbeddingViewer(features, labels, point_limits={"tsne": 15})
    viewer.method = "tsne"
    viewer.source.selected.indices = [0, 3]
    assert viewer.selected == sorted(int(viewer.source.data["index"][k]) for k in (0, 3))


def test_bad_inputs_and_settings(data):
    features, labels, images = data
    with pytest.raises(ValueError, match="labels"):
        EmbeddingViewer(features, labels[:-1])
    with pytest.raises(ValueError, match="images"):
        EmbeddingViewer(features, labels, images[:-1])
    viewer = EmbeddingViewer(features, labels)
    with pytest.raises(Exception, match="method"):
        viewer.method = "umap"
    with pytest.raises(Exception, match="dims"):
        viewer.dims = 4
    tiny = EmbeddingViewer(features[:4], labels[:4])  # 4 samples: a 3-D embedding needs 5
    tiny.dims = 3
    assert "at least 5 samples" in tiny.error and tiny.figures[1].visible is False


@pytest.mark.parametrize("image, shape", [
    (np.arange(200, dtype=np.int16).reshape(10, 20), (32, 64)),
    (np.zeros((3, 30, 30), dtype=np.float32), (64, 64)),
    (np.full((8, 8, 4), 200, dtype=np.uint8), (64, 64)),
])
def test_thumbnail_uri_is_a_small_png(image, shape):
    uri = thumbnail_uri(image)
    assert uri.startswith("data:image/png;base64,")
    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(uri.split(",", 1)[1]), np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.shape[:2] == shape
    if np.ptp(image) == 0:
        assert np.ptp(decoded) == 0  # a flat image stays flat
    else:
        assert decoded.min() < decoded.max()  # the picture keeps its contrast


def test_a_new_view_gets_the_state_changed_after_construction(data):
    """jupyter_bokeh snapshots the document at construction; a new front-end view must get the current one."""
    features, labels, _ = data
    viewer = EmbeddingViewer(features, labels)
    viewer.method = "kpca-linear"
    assert "kernel PCA (linear)" not in str(viewer.plot.render_bundle)
    viewer.plot._view_count = 1  # what the front end reports when it creates a view
    assert "kernel PCA (linear)" in str(viewer.plot.render_bundle)


def test_a_computing_notice_is_shown_while_a_new_setting_runs(data):
    features, labels, _ = data
    viewer = EmbeddingViewer(features, labels)
    notices = []
    viewer.observe(lambda change: notices.append(change.new), "notice")
    viewer.method = "kpca-rbf"
    assert notices == ["computing kernel PCA (RBF) in 2-D ...", ""]
    notices.clear()
    viewer.method = "pca"
    assert notices == []  # cached: nothing to compute


def test_precomputed_coordinates_are_shown_without_features(data):
    """A pipeline's saved coordinates fill the cache; a setting not saved reports an error, no crash."""
    _, labels, images = data
    coords = np.random.default_rng(1).normal(size=(40, 2)).astype(np.float32)
    viewer = EmbeddingViewer(None, labels, images, precomputed={("tsne", 2): coords}, method="tsne")
    order = viewer.source.data["index"]
    np.testing.assert_array_equal(np.stack([viewer.source.data["a"], viewer.source.data["b"]], 1), coords[order])
    assert viewer.error == "" and viewer.notice == ""
    viewer.method = "pca"
    assert "no features to embed" in viewer.error and viewer.method == "pca"
    with pytest.raises(ValueError, match="precomputed"):
        EmbeddingViewer(None, labels, precomputed={("tsne", 3): coords})
    with pytest.raises(ValueError, match="features"):
        EmbeddingViewer(None, labels)
