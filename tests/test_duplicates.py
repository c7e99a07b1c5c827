"""Near-duplicate photos (shirtsim.overview.duplicates): copies found, look-alikes kept apart, the cache,
the CLI; and the issue's measurement on real photos with injected copies."""

import io
import json
import shutil

import numpy as np
import pytest
from helpers import DEMO, REAL_SHIRTS, need_real_photos
from PIL import Image, ImageDraw, ImageFont, ImageOps
from support.duplicate_copies import copy_of, measure

from shirtsim.catalog.folder import discover
from shirtsim.overview.duplicates import (
    DEFAULT_THRESHOLD,
    PRINT_BYTES,
    PhotoPrint,
    PrintStore,
    candidates,
    catalog_prints,
    describe_photo,
    group,
    is_flat,
    pair_score,
    scan_catalog,
    verify,
)


def jpeg_60(img: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=60)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def best_score(a: Image.Image, b: Image.Image) -> float:
    """The duplicate score two photos get as a candidate pair (-1 when they are not one)."""
    prints = [describe_photo(a), describe_photo(b)]
    found = candidates(prints)
    return max((pair_score(prints[k.whole], prints[k.cut], k.cut_index, k.mirrored) for k in found), default=-1.0)


@pytest.mark.parametrize("way", ["same", "resize", "crop", "mirror"])
def test_each_kind_of_copy_scores_above_the_threshold(way):
    photo = Image.open(DEMO / "1077.jpg").convert("RGB")
    assert best_score(photo, jpeg_60(copy_of(photo, way))) >= DEFAULT_THRESHOLD


def test_a_crop_from_the_other_corner_and_a_mirrored_crop_are_found_too():
    photo = Image.open(DEMO / "1150.jpg").convert("RGB")
    w, h = photo.size
    bottom_right = photo.crop((0, 0, round(0.95 * w), round(0.95 * h)))
    assert best_score(photo, jpeg_60(bottom_right)) >= DEFAULT_THRESHOLD
    assert best_score(photo, jpeg_60(ImageOps.mirror(bottom_right))) >= DEFAULT_THRESHOLD


def test_two_shirts_drawn_alike_in_other_colours_are_not_duplicates():
    """1024 (orange stripes) and 1129 (red on blue) line up stripe for stripe in grey detail: the
    colour gap keeps them apart (0.44 without their stripes lined up, under 0.7 with)."""
    a, b = (Image.open(DEMO / f"{i}.jpg").convert("RGB") for i in ("1024", "1129"))
    assert best_score(a, b) < 0.7


@pytest.fixture(scope="module")
def prints(tmp_path_factory):
    """One cache of prints for this module: they are kept by image content, so the demo's 200
    are made once however many catalogs copy them."""
    return tmp_path_factory.mktemp("prints")


def test_the_demo_catalog_has_no_duplicates_and_copies_join_their_source(tmp_path, prints):
    catalog = tmp_path / "shirts"
    shutil.copytree(DEMO, catalog)
    assert scan_catalog(discover(catalog), prints).groups() == []
    for source, way in (("1033", "resize"), ("1140", "mirror"), ("1140", "crop")):
        jpeg_60(copy_of(Image.open(DEMO / f"{source}.jpg").convert("RGB"), way)).save(catalog / f"z-{source}-{way}.jpg")
    groups = scan_catalog(discover(catalog), prints).groups()
    assert [g.ids for g in groups] in (
        [["1140", "z-1140-crop", "z-1140-mirror"], ["1033", "z-1033-resize"]],
        [["1033", "z-1033-resize"], ["1140", "z-1140-crop", "z-1140-mirror"]],
    )
    assert all(DEFAULT_THRESHOLD <= g.score <= 1.0 for g in groups)
    assert [g.score for g in groups] == sorted((g.score for g in groups), reverse=True)


def test_groups_link_pairs_once_and_keep_their_weakest_score():
    ids = ["a", "b", "c", "d", "e"]
    links = [(0.99, 0, 1), (0.95, 1, 2), (0.97, 3, 4), (0.91, 0, 3), (0.5, 2, 4)]
    assert [(g.ids, g.score) for g in group(ids, links, 0.93)] == [(["d", "e"], 0.97), (["a", "b", "c"], 0.95)]
    assert [(g.ids, g.score) for g in group(ids, links, 0.9)] == [(["a", "b", "c", "d", "e"], 0.91)]
    assert group(ids, links, 0.999) == []
    assert [g.as_json() for g in group(ids, links, 0.98)] == [{"ids": ["a", "b"], "score": 0.99}]


def test_prints_are_cached_by_content_and_a_damaged_one_is_made_again(tmp_path):
    catalog = tmp_path / "shirts"
    catalog.mkdir()
    for i in ("1001", "1002", "1003"):
        shutil.copy(DEMO / f"{i}.jpg", catalog)
    (catalog / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    first = catalog_prints(discover(catalog), tmp_path / "cache")
    assert (first.ids, first.made) == (["1001", "1002", "1003"], 3)
    assert [s.name for s in first.skipped] == ["broken.jpg"] and first.skipped[0].reason
    again = catalog_prints(discover(catalog), tmp_path / "cache")
    assert again.made == 0
    assert all(a.to_bytes() == b.to_bytes() for a, b in zip(first.prints, again.prints))
    store = PrintStore(tmp_path / "cache")
    (damaged,) = [p for p in store.root.rglob("*.bin") if p.read_bytes()[-PRINT_BYTES:] == first.prints[1].to_bytes()]
    damaged.write_bytes(damaged.read_bytes()[:-10])
    assert catalog_prints(discover(catalog), tmp_path / "cache").made == 1


def test_a_print_reads_back_exactly_and_refuses_wrong_bytes():
    photo_print = describe_photo(Image.open(DEMO / "1001.jpg"))
    data = photo_print.to_bytes()
    assert len(data) == PRINT_BYTES
    back = PhotoPrint.from_bytes(data)
    assert np.array_equal(back.colour, photo_print.colour) and np.array_equal(back.grey, photo_print.grey)
    with pytest.raises(ValueError, match="a photo print is"):
        PhotoPrint.from_bytes(data[:-1])


def test_cli_duplicates_json_and_text(tmp_path, monkeypatch, capsys):
    from shirtsim.cli.main import main

    catalog = tmp_path / "shirts"
    catalog.mkdir()
    for i in ("1001", "1002", "1077"):
        shutil.copy(DEMO / f"{i}.jpg", catalog)
    jpeg_60(copy_of(Image.open(DEMO / "1077.jpg").convert("RGB"), "mirror")).save(catalog / "1077-mirrored.jpg")
    assert main(["duplicates", "--catalog", str(catalog), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [g["ids"] for g in got] == [["1077", "1077-mirrored"]] and DEFAULT_THRESHOLD <= got[0]["score"] <= 1
    assert main(["duplicates", "--catalog", str(catalog)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"1 group(s) of near-duplicate photos among 4, duplicate score >= {DEFAULT_THRESHOLD:g}"
    assert out[1] == f"  {got[0]['score']:.3f}  1077  1077-mirrored"
    assert main(["duplicates", "--catalog", str(catalog), "--threshold", "0.999", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    for bad, said in (("1.5", "1.5 is out of range: use a score from 0 to 1"), ("high", "'high' is not a number")):
        with pytest.raises(SystemExit) as exit_:
            main(["duplicates", "--threshold", bad])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err == f"shirtsim: duplicates: argument --threshold: {said} (see --help)\n"


@pytest.mark.slow
def test_injected_copies_of_real_photos_are_found_with_almost_no_false_pairs():
    """The issue's goal on real-shirts-dev with 120 injected copies (30 of each way; another seed
    than the ones benchmarks/duplicates.py chose and reported the threshold on): >= 95% of the
    injected pairs found, <= 1 false pair per 1,000 images."""
    need_real_photos()
    result = measure(REAL_SHIRTS, copies=120, seed=3)
    assert result["copies"] == 120 and result["images"] == 1691 + 120
    assert result["found"] >= 0.95, result
    assert result["false_per_1000"] <= 1.0, result
    assert min(result["found_by_way"].values()) >= 0.9, result


def test_photos_without_detail_score_within_minus_one_and_one():
    """A near-blank photo has no detail to correlate: its scores stay cosines, not rounding
    noise divided by almost nothing (which once gave 438)."""
    flat = np.full((800, 800), 250, np.uint8)
    flat[4:16, 4:16] = 200
    noisy = np.clip(flat + np.random.default_rng(0).normal(0, 2, flat.shape), 0, 255).astype(np.uint8)
    prints = [describe_photo(Image.fromarray(p).convert("RGB")) for p in (flat, noisy)]
    for k in candidates(prints):
        assert -1.0 <= pair_score(prints[k.whole], prints[k.cut], k.cut_index, k.mirrored) <= 1.0
    for a, b in ((0, 1), (1, 0)):
        assert -1.0 <= verify(prints[a], prints[b]) <= 1.0
    assert group(["a", "b"], [(0.95, 0, 1)], 0.9)[0].score == 0.95  # a group's score is its own link's


def test_files_the_catalog_listing_leaves_out_are_reported_with_the_unreadable_ones(tmp_path):
    catalog = tmp_path / "shirts"
    catalog.mkdir()
    for name in ("1001.jpg", "1001.png", "1002.jpg"):
        shutil.copy(DEMO / f"{name.split('.')[0]}.jpg", catalog / name)
    (catalog / "empty.jpg").write_bytes(b"")
    (catalog / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    scan = scan_catalog(discover(catalog), tmp_path / "cache")
    assert scan.ids == ["1001", "1002"]
    assert [(s.name, s.reason) for s in scan.skipped][:2] == [
        ("1001.png", "duplicate id '1001' (kept 1001.jpg)"),
        ("empty.jpg", "empty file"),
    ]
    assert [s.name for s in scan.skipped][2:] == ["broken.jpg"]


def test_candidates_are_capped_per_photo(monkeypatch):
    """A catalog of one template (every photo the same drawing, lighter or darker) lets each photo
    propose its CANDIDATES_PER_PHOTO best partners, not all eleven."""
    monkeypatch.setattr("shirtsim.overview.duplicates.CANDIDATES_PER_PHOTO", 3)
    base = np.asarray(Image.open(DEMO / "1077.jpg").convert("RGB"), np.float32)
    prints = [
        describe_photo(Image.fromarray(np.clip(base * (0.9 + 0.01 * n), 0, 255).astype(np.uint8))) for n in range(12)
    ]
    found = candidates(prints)
    assert 12 <= len(found) <= 12 * 3
    per_photo = np.bincount([k.whole for k in found], minlength=12)
    assert per_photo.max() <= 3


def placeholder(text: str = "", size=(800, 800), background=(238, 238, 238), font_size=24) -> Image.Image:
    """A "no photo" picture: one colour, with ``text`` in grey across its middle."""
    img = Image.new("RGB", size, background)
    if text:
        draw, font = ImageDraw.Draw(img), ImageFont.load_default(size=font_size)
        left = (size[0] - draw.textlength(text, font=font)) / 2
        draw.text((left, (size[1] - font_size) / 2), text, fill=(140, 140, 140), font=font)
    return img


def test_copies_of_a_flat_picture_are_one_group_and_other_colours_and_the_demo_stay_apart(tmp_path, prints):
    """A blank placeholder as PNG, JPEG q60 and resized is one picture; a flat white and a flat
    navy are not one, nor any of them a shirt (40 demo shirts beside them)."""
    catalog = tmp_path / "shirts"
    catalog.mkdir()
    for photo in sorted(DEMO.glob("*.jpg"))[::5]:
        shutil.copy(photo, catalog / photo.name)
    grey = placeholder(background=(128, 128, 128))
    grey.save(catalog / "blank-png.png")
    jpeg_60(grey).save(catalog / "blank-jpeg.png")  # (decoded from JPEG, kept losslessly)
    grey.resize((300, 400), Image.BILINEAR).save(catalog / "blank-small.jpg", quality=60)
    placeholder(background=(255, 255, 255)).save(catalog / "flat-white.png")
    placeholder(background=(20, 30, 90), size=(600, 800)).save(catalog / "flat-navy.jpg", quality=60)
    groups = scan_catalog(discover(catalog), prints).groups()
    assert [(g.ids, g.score) for g in groups] == [(["blank-jpeg", "blank-png", "blank-small"], 1.0)]


def test_flat_pictures_score_by_colour_and_never_pair_with_a_photo():
    grey, white, navy = (describe_photo(placeholder(background=c)) for c in ((128,) * 3, (255,) * 3, (20, 30, 90)))
    photo = describe_photo(Image.open(DEMO / "1001.jpg"))
    assert is_flat(grey) and is_flat(white) and is_flat(navy) and not is_flat(photo)
    assert pair_score(grey, describe_photo(jpeg_60(placeholder(background=(128,) * 3)))) == 1.0
    assert pair_score(white, navy) < 0 and pair_score(white, describe_photo(placeholder(background=(250,) * 3))) > 0.99
    for flat in (grey, white, navy):
        assert candidates([flat, photo]) == [] and pair_score(flat, photo) <= 0.0  # no detail to correlate
    assert [(k.whole, k.cut) for k in candidates([white, navy, grey])] == []  # too far apart in colour


def test_a_labelled_placeholder_and_its_jpeg_are_one_group_and_another_label_is_not(tmp_path):
    catalog = tmp_path / "shirts"
    catalog.mkdir()
    for i in ("1001", "1002"):
        shutil.copy(DEMO / f"{i}.jpg", catalog)
    label = placeholder("No image available")
    label.save(catalog / "no-image.png")
    jpeg_60(label).save(catalog / "no-image-jpeg.png")
    label.resize((400, 400), Image.BILINEAR).save(catalog / "no-image-small.jpg", quality=60)
    placeholder("Coming soon").save(catalog / "coming-soon.png")
    placeholder("Coming soon", font_size=6).save(catalog / "tiny-label.png")  # too small to be detail: flat
    placeholder().save(catalog / "blank.png")
    groups = scan_catalog(discover(catalog), tmp_path / "cache").groups()
    assert [g.ids for g in groups] == [["blank", "tiny-label"], ["no-image", "no-image-jpeg", "no-image-small"]]
    assert all(DEFAULT_THRESHOLD <= g.score <= 1.0 for g in groups)
