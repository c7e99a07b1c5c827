"""Mode ``seed`` is the notebook's method: same images, same weights, same top-10 ids."""

import numpy as np
import pytest
from helpers import DEMO

from shirtsim.catalog.folder import discover
from shirtsim.describe.descriptors import SEED_KIND
from shirtsim.engine import get_mode
from shirtsim.index.build import build_index


def notebook_top10(paths, model):
    """The seed notebook, step by step: load_img, img_to_array, preprocess_input, one predict per
    image, flatten, full cosine similarity matrix, argsort."""
    import keras
    from keras.applications.vgg16 import preprocess_input

    feats = []
    for path in paths:
        img = keras.utils.load_img(path, target_size=(224, 224))
        x = preprocess_input(np.expand_dims(keras.utils.img_to_array(img), axis=0))
        feats.append(model.predict(x, verbose=0).flatten())
    feats = np.array(feats)
    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    sim = unit @ unit.T  # sklearn's cosine_similarity
    return {i: list(np.argsort(-sim[i])[1:11]) for i in range(len(paths))}


@pytest.mark.slow
def test_seed_mode_returns_the_notebooks_top10(tmp_path, weights, embedder):
    import shutil

    catalog = tmp_path / "shirts"
    catalog.mkdir()
    ids = [str(n) for n in range(1001, 1041)]
    for shirt_id in ids:
        shutil.copy(DEMO / f"{shirt_id}.jpg", catalog / f"{shirt_id}.jpg")
    index, _ = build_index(discover(catalog), SEED_KIND, weights, lambda: embedder, tmp_path / "cache")
    expected = notebook_top10([catalog / f"{i}.jpg" for i in ids], embedder.vgg)
    seed = get_mode("seed")
    for q, shirt_id in enumerate(ids):
        ours = [m.id for m in index.search(index.stored(shirt_id), seed, 10, exclude=shirt_id)]
        assert ours == [ids[j] for j in expected[q]], f"query {shirt_id}"
