import shutil

import numpy as np
import pytest
from scipy.ndimage import binary_dilation, binary_erosion, gaussian_gradient_magnitude

from medinterp_widgets.data import (
    DataFormatError,
    DicomReadError,
    SunnybrookDataset,
    load_sunnybrook,
    read_dicom,
    read_dicom_series,
)

SQUARE = "20 20\n40 20\n40 40\n20 40\n"  # x, y in pixels: a 21 x 21 px square (centres on edges count)


@pytest.fixture
def fake_root(tmp_path, testdata):
    """A Sunnybrook-format folder with unseen names: two studies of MR_small (64 x 64) slices."""
    root = tmp_path / "sunny"
    (root / "contourfiles").mkdir(parents=True)
    (root / "link.csv").write_text("patient_id,original_id\nSCD9000101,SC-N-9\nSCD9000201,SC-N-10\n")
    for study, contour_id, numbers in (("SCD9000101", "SC-N-9", (7, 31)), ("SCD9000201", "SC-N-10", (12,))):
        (root / "dicoms" / study).mkdir(parents=True)
        for kind in ("i", "o"):
            (root / "contourfiles" / contour_id / f"{kind}-contours").mkdir(parents=True)
        for number in numbers:
            shutil.copy(testdata("MR_small.dcm"), root / "dicoms" / study / f"{number}.dcm")
            inner = root / "contourfiles" / contour_id / "i-contours" / f"IM-0001-{number:04d}-icontour-manual.txt"
            inner.write_text(SQUARE)
    outer = root / "contourfiles" / "SC-N-9" / "o-contours" / "IM-0001-0007-ocontour-manual.txt"
    outer.write_text("15 15\n45 15\n45 45\n15 45\n")
    return root


def test_pairs_contours_with_dicoms_through_the_link_table(fake_root):
    slices = load_sunnybrook(fake_root)
    assert [(s.study_id, s.contour_id, s.file_number) for s in slices] == [
        ("SCD9000101", "SC-N-9", 7), ("SCD9000101", "SC-N-9", 31), ("SCD9000201", "SC-N-10", 12)]  # fmt: skip
    first = slices[0]
    assert first.image.dtype == np.float32 and first.image.shape == (64, 64)
    assert first.lv_mask.dtype == bool and first.lv_mask.sum() == 21 * 21
    assert first.outer_mask is not None and first.outer_mask.sum() == 31 * 31 and slices[1].outer_mask is None
    assert first.spacing == pytest.approx((0.3125, 0.3125))
    assert first.lv_area_mm2 == pytest.approx(441 * 0.3125**2)
    assert slices.skipped == []


def test_contour_points_count_pixels_from_one(fake_root):
    """"20 20" .. "40 40" is the square of pixel centres 19..39 (1-based files); origin 0 reads them raw."""
    first = load_sunnybrook(fake_root)[0]
    rows, cols = np.nonzero(first.lv_mask)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (19, 39, 19, 39)
    raw = load_sunnybrook(fake_root, contour_origin=0)[0]
    assert np.array_equal(raw.lv_mask[20:41, 20:41], first.lv_mask[19:40, 19:40]) and raw.lv_mask.sum() == 441
    assert np.array_equal(raw.outer_mask[1:, 1:], first.outer_mask[:-1, :-1])


def test_missing_dicom_raises_or_is_skipped_with_report(fake_root):
    (fake_root / "dicoms" / "SCD9000101" / "31.dcm").unlink()
    with pytest.raises(DataFormatError, match="31.dcm"):
        load_sunnybrook(fake_root)
    with pytest.warns(UserWarning, match="skipped 1"):
        slices = load_sunnybrook(fake_root, skip_bad=True)
    assert len(slices) == 2 and "31.dcm" in slices.skipped[0][0]


def test_bad_contour_and_bad_dicom_name_the_file(fake_root):
    bad = fake_root / "contourfiles" / "SC-N-10" / "i-contours" / "IM-0001-0012-icontour-manual.txt"
    bad.write_text("1 2\nnot numbers\n3 4\n")
    with pytest.raises(DataFormatError, match="line 2") as caught:
        load_sunnybrook(fake_root)
    assert bad.name in str(caught.value)
    bad.write_text(SQUARE)
    (fake_root / "dicoms" / "SCD9000201" / "12.dcm").write_bytes(b"\0" * 300)
    with pytest.raises(DicomReadError, match="12.dcm"):
        load_sunnybrook(fake_root)


def test_link_table_problems(fake_root):
    (fake_root / "link.csv").write_text("patient,original\nA,B\n")
    with pytest.raises(DataFormatError, match="patient_id,original_id"):
        load_sunnybrook(fake_root)
    (fake_root / "link.csv").unlink()
    with pytest.raises(DataFormatError, match="link.csv"):
        load_sunnybrook(fake_root)


def test_split_is_by_study_seeded_and_disjoint(fake_root):
    slices = load_sunnybrook(fake_root)
    train_set = SunnybrookDataset(slices, split="train", val_fraction=0.5)
    val_set = SunnybrookDataset(slices, split="val", val_fraction=0.5)
    assert not set(train_set.study_ids) & set(val_set.study_ids) and len(train_set) + len(val_set) == 3
    image, mask = train_set[0]
    assert image.shape == (1, 64, 64) and 0.0 <= float(image.min()) and float(image.max()) == 1.0
    assert mask.shape == (64, 64) and int(mask.sum()) == 441


# ---- real Sunnybrook data (skipped without MEDINTERP_DATA) -----------------------------------------


@pytest.fixture(scope="module")
def real_slices(request):
    root = request.getfixturevalue("real_dataset")("sunnybrook")
    return load_sunnybrook(root)


@pytest.mark.data
def test_real_slices_spacing_and_lv_area(real_slices):
    assert len(real_slices) > 0 and real_slices.skipped == []
    spacings = {s.study_id: s.spacing for s in real_slices}
    assert all(1.0 < dy < 2.0 and dy == dx for dy, dx in spacings.values())  # square pixels, ~1.3 mm
    if "SCD0000101" in spacings:
        assert spacings["SCD0000101"] == pytest.approx((1.367188, 1.367188))  # (SCD0000301 is 1.2891 mm)
    areas = np.array([s.lv_area_mm2 for s in real_slices])
    assert (areas > 50).all() and 300 < areas.mean() < 6000  # LV cavity: a few cm^2 to tens of cm^2
    with_outer = [s for s in real_slices if s.outer_mask is not None]
    assert with_outer and all((s.lv_mask & ~s.outer_mask).sum() <= 0.02 * s.lv_mask.sum() for s in with_outer)


@pytest.mark.data
def test_real_contours_are_x_column_y_row(real_slices):
    """The blood pool is bright in cine MRI: inside the LV contour beats the ring just outside it."""
    brighter = []
    for s in real_slices:
        ring = binary_dilation(s.lv_mask, iterations=4) & ~s.lv_mask
        brighter.append(s.image[s.lv_mask].mean() > s.image[ring].mean())
    assert np.mean(brighter) > 0.9


@pytest.mark.data
def test_real_inner_contours_sit_on_the_image_edge_once_read_from_one(real_dataset):
    """Model-free check of the 1-based reading: per study, the mean gradient magnitude along the LV
    contour's own boundary is higher with the 1-based masks than with the raw 0-based ones."""
    root = real_dataset("sunnybrook")
    one_based, raw = load_sunnybrook(root), load_sunnybrook(root, contour_origin=0)
    on_edge: dict[str, list[float]] = {}
    for a, b in zip(one_based, raw):
        edge = gaussian_gradient_magnitude(a.image.astype(float), 0.7)
        boundary = [m & ~binary_erosion(m) for m in (a.lv_mask, b.lv_mask)]
        on_edge.setdefault(a.study_id, []).append(edge[boundary[0]].mean() - edge[boundary[1]].mean())
    assert on_edge and all(np.mean(gains) > 0 for gains in on_edge.values())


@pytest.mark.data
def test_real_full_study_is_a_cine_stack(real_dataset):
    folder = real_dataset("sunnybrook") / "dicoms" / "SCD0000101"
    volume = read_dicom_series(folder)
    phases, slices, rows, cols = volume.array.shape
    assert volume.axes == ("t", "z", "y", "x") and (rows, cols) == (256, 256)
    assert phases * slices == len(list(folder.glob("*.dcm"))) and phases > 1 and slices > 1
    assert volume.spacing[1:] == pytest.approx((1.367188, 1.367188)) and 5 < volume.spacing[0] < 15
    triggers = np.array(volume.metadata["trigger_times"])  # (phases, slices)
    assert (np.diff(triggers, axis=0) > 0).all()
    for k in (1, slices - 1):  # index -> mm lands on the file's own ImagePositionPatient
        position = read_dicom(volume.metadata["files"][0][k]).origin
        np.testing.assert_allclose(volume.index_to_mm((k, 0, 0)), position, atol=0.01)
    one = read_dicom(folder / "1.dcm")
    assert one.array.dtype == np.int16 and one.spacing == pytest.approx((1.367188, 1.367188))
