"""Pictures for the page: made once per image content, small, cached, remade when damaged."""

import io

from PIL import Image

from shirtsim.catalog.thumbnails import PREVIEW, TILE, ThumbnailStore, make_thumbnail, placeholder


def test_a_big_photo_becomes_a_small_jpeg_of_the_same_shape():
    photo = Image.new("RGB", (1800, 2400), (20, 60, 160))
    tile = make_thumbnail(photo, TILE)
    preview = make_thumbnail(photo, PREVIEW)
    assert Image.open(io.BytesIO(tile)).size == (192, 256) and Image.open(io.BytesIO(tile)).format == "JPEG"
    assert Image.open(io.BytesIO(preview)).size == (384, 512)
    assert len(tile) < 5_000 and len(preview) < 15_000


def test_a_small_picture_is_never_scaled_up():
    assert Image.open(io.BytesIO(make_thumbnail(Image.new("RGB", (200, 250)), PREVIEW))).size == (200, 250)


def test_store_round_trip_and_a_damaged_file_is_a_miss(tmp_path):
    store = ThumbnailStore(tmp_path)
    store.put_all("ab" * 32, Image.new("RGB", (600, 800), (200, 10, 10)))
    tile = store.get("ab" * 32, TILE)
    assert Image.open(io.BytesIO(tile)).size == (192, 256)
    path = tmp_path / "v1" / "thumbs" / str(TILE) / "ab" / f"{'ab' * 32}.jpg"
    path.write_bytes(path.read_bytes()[:-5])
    assert store.get("ab" * 32, TILE) is None and store.get("cd" * 32, TILE) is None


def test_placeholder_is_a_tile_sized_jpeg():
    assert Image.open(io.BytesIO(placeholder())).size == (192, 256)
