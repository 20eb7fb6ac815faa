import numpy as np
import pytest
from scipy import stats

from medinterp_widgets.data import synthetic_cardiac_mri
from medinterp_widgets.data.synthetic.cardiac import MALE_TO_FEMALE, CardiacBatch, sample_cardiac_parameters


@pytest.fixture(scope="module")
def batch1():
    return synthetic_cardiac_mri(400, seed=11, size=64)


@pytest.fixture(scope="module")
def batch2():
    return synthetic_cardiac_mri(400, seed=12, size=64, experiment=2)


def _per_class(batch, values, name):
    return values[batch.labels == batch.class_names.index(name)]


def test_shapes_dtypes_ranges(batch1):
    b = batch1
    assert isinstance(b, CardiacBatch) and len(b) == 400
    assert b.images.shape == (400, 64, 64) and b.images.dtype == np.float32
    assert 0.0 <= b.images.min() and b.images.max() <= 1.0
    assert b.labels.dtype == np.int64 and b.sex.dtype == np.int64 and set(np.unique(b.sex)) == {0, 1}
    assert b.class_names == ("normal", "hcm", "dcm", "arv") and set(np.unique(b.labels)) == {0, 1, 2, 3}
    assert b.heart_mask.dtype == bool and b.marker_mask.dtype == bool and b.tissue.dtype == np.uint8
    assert all(v.shape == (400,) for v in b.params.values())


def test_default_size_draws_the_same_anatomy_at_a_finer_grid():
    """Default 128 x 128: the same seed gives the same parameters as a 64 px batch, and the heart covers
    about the same share of the field at both sizes (generation cost is a benchmark matter, not a test)."""
    fine, coarse = synthetic_cardiac_mri(8, seed=0), synthetic_cardiac_mri(8, seed=0, size=64)
    assert fine.images.shape == (8, 128, 128)
    np.testing.assert_array_equal(fine.labels, coarse.labels)
    for name, values in fine.params.items():
        np.testing.assert_array_equal(values, coarse.params[name])
    share_fine, share_coarse = fine.heart_mask.mean((1, 2)), coarse.heart_mask.mean((1, 2))
    assert np.all(share_fine > 0.01)
    np.testing.assert_allclose(share_fine, share_coarse, rtol=0.15)


def test_reproducible_by_seed():
    a, b, c = (synthetic_cardiac_mri(12, seed=s, size=48) for s in (5, 5, 6))
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.heart_mask, b.heart_mask)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images)


def test_class_and_sex_proportions_at_n_4000():
    n = 4000
    p = sample_cardiac_parameters(n, np.random.default_rng(0))
    counts = np.bincount(p["label"], minlength=4)
    assert stats.chisquare(counts).pvalue > 1e-3  # uniform class prior
    for index, name in enumerate(("normal", "hcm", "dcm", "arv")):
        sex = p["sex"][p["label"] == index]
        expected = MALE_TO_FEMALE[name] / (1 + MALE_TO_FEMALE[name])
        assert stats.binomtest(int(sex.sum()), sex.size, expected).pvalue > 1e-3, name
    arv_subtypes = p["arv_subtype"][p["label"] == 3]
    assert set(np.unique(arv_subtypes)) == {1, 2} and np.all(p["arv_subtype"][p["label"] != 3] == 0)


def test_hcm_wall_thicker_dcm_cavity_larger_arv_rv_larger(batch1):
    b = batch1
    area = {k: (b.tissue == k).sum(axis=(1, 2)) / b.params["size_scale"] ** 2 for k in (1, 2, 3)}
    myo_share = area[2] / (area[1] + area[2])  # wall area over epicardial area: a thickness measure
    assert _per_class(b, myo_share, "hcm").min() > _per_class(b, myo_share, "normal").max()
    assert _per_class(b, area[1], "dcm").mean() > 2 * _per_class(b, area[1], "normal").mean()
    assert _per_class(b, area[3], "arv").mean() > 1.5 * _per_class(b, area[3], "normal").mean()
    assert _per_class(b, b.params["body_fat"], "dcm").mean() > _per_class(b, b.params["body_fat"], "normal").mean() + 5


def test_experiment1_males_larger_no_marker(batch1):
    b = batch1
    assert not b.marker_mask.any()
    body_area = (b.images > 0.2).sum(axis=(1, 2))
    assert body_area[b.sex == 1].mean() > 1.3 * body_area[b.sex == 0].mean()


def test_experiment2_marker_only_in_males_no_size_difference(batch2):
    b = batch2
    has_marker = b.marker_mask.any(axis=(1, 2))
    np.testing.assert_array_equal(has_marker, b.sex == 1)
    assert b.images[b.marker_mask].mean() > 0.75 and b.images[~b.marker_mask].mean() < 0.4
    assert not (b.marker_mask & b.heart_mask).any()
    scale = b.params["size_scale"]
    assert stats.mannwhitneyu(scale[b.sex == 1], scale[b.sex == 0]).pvalue > 1e-3
    assert abs(scale[b.sex == 1].mean() - scale[b.sex == 0].mean()) < 0.05


def test_heart_mask_covers_lv_rv_and_matches_the_image(batch1):
    b = batch1
    assert np.all(b.heart_mask[b.tissue > 0])
    blood = b.images[(b.tissue == 1) | (b.tissue == 3)].mean()
    myo = b.images[b.tissue == 2].mean()
    assert blood > myo + 0.3
    heart_share = b.heart_mask.mean(axis=(1, 2))
    assert np.all((heart_share > 0.01) & (heart_share < 0.3))


def test_class_subset_empty_batch_and_bad_arguments():
    assert len(synthetic_cardiac_mri(0, size=48)) == 0
    b = synthetic_cardiac_mri(10, seed=1, size=48, classes=("normal", "dcm"))
    assert b.class_names == ("normal", "dcm") and set(np.unique(b.labels)) <= {0, 1}
    with pytest.raises(ValueError, match="classes"):
        synthetic_cardiac_mri(2, classes=("normal", "flu"))
    with pytest.raises(ValueError, match="experiment"):
        synthetic_cardiac_mri(2, experiment=3)


def test_body_fat_depends_on_sex_and_arv_fat_share_is_drawn():
    p = sample_cardiac_parameters(4000, np.random.default_rng(1))
    not_dcm = p["label"] != 2
    male, female = p["body_fat"][not_dcm & (p["sex"] == 1)], p["body_fat"][not_dcm & (p["sex"] == 0)]
    assert abs(male.mean() - 26.0) < 0.8 and abs(male.std() - 7.9) < 0.8  # the thesis's male 26 +/- 7.9 %
    assert female.mean() > male.mean() + 7
    share = p["arv_fat_share"]
    assert np.all(share[p["arv_subtype"] == 0] == 0)
    fatty, dilated = share[p["arv_subtype"] == 2], share[p["arv_subtype"] == 1]
    assert 0.5 <= fatty.min() and fatty.max() <= 0.9 and 0.2 <= dilated.min() and dilated.max() <= 0.5
    assert fatty.std() > 0.05 and dilated.std() > 0.05  # drawn, not fixed


def test_experiment2_marker_at_the_bottom(batch2):
    rows = np.nonzero(batch2.marker_mask.any(axis=(0, 2)))[0]
    assert rows.min() > 0.8 * 64  # below the body, in the bottom fifth
