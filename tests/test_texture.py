"""The texture basis: the shipped one, one fitted for other weights, and the fitting command."""

import numpy as np
import pytest
from helpers import DEMO, run

from shirtsim.describe.descriptors import STYLE_KIND, TEXTURE_CHANNELS
from shirtsim.describe.texture import SHIPPED_BASIS_FILE, basis_for, basis_id, load_basis
from shirtsim.index.build import fingerprint
from shirtsim.model.weights import Weights


def assert_orthonormal(components):
    assert components.shape == (TEXTURE_CHANNELS, 512)
    np.testing.assert_allclose(components @ components.T, np.eye(TEXTURE_CHANNELS), atol=1e-4)


def test_shipped_basis_is_an_orthonormal_pca_basis_for_the_packaged_weights(weights, embedder):
    basis = load_basis(SHIPPED_BASIS_FILE)
    assert basis.mean.shape == (512,) and (basis.mean >= 0).all()  # a mean of square roots
    assert_orthonormal(basis.components)
    assert basis_for(embedder) is basis_for(embedder)  # loaded once per process
    np.testing.assert_array_equal(basis_for(embedder).components, basis.components)


@pytest.mark.slow
def test_other_weights_get_a_basis_fitted_on_the_demo_catalog_and_their_own_cache(tmp_path, weights, embedder):
    # The packaged network saved as a weights file: the same channels, but not the weights the
    # shipped basis was fitted with, so shirtsim must fit one (on the demo catalog) itself.
    path = tmp_path / "my.weights.h5"
    embedder.vgg.save_weights(str(path))
    other = Weights("file", path, "file-test")

    class SameNetwork:  # the model is the packaged one; only the weights' name differs
        def __init__(self):
            self.weights, self.forward = other, embedder.forward

    basis = basis_for(SameNetwork())
    assert_orthonormal(basis.components)
    shipped = load_basis(SHIPPED_BASIS_FILE)
    # Fitted on other photos (drawings, not real shirts): close to the shipped basis, not equal.
    assert not np.array_equal(basis.components, shipped.components)
    assert np.corrcoef(basis.mean, shipped.mean)[0, 1] > 0.8
    assert basis_id(other) == "tbdemo" and basis_id(weights) != "tbdemo"
    assert fingerprint(other, STYLE_KIND) != fingerprint(weights, STYLE_KIND)


@pytest.mark.slow
def test_fit_texture_basis_command_is_deterministic(tmp_path):
    outs = []
    for n in (1, 2):
        out = tmp_path / f"basis{n}.npy"
        done = run("fit-texture-basis", "--every", "20", "--out", str(out))
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"fitted on 10 images of {DEMO}; wrote {out}\n"
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert_orthonormal(load_basis(tmp_path / "basis1.npy").components)


@pytest.mark.slow
def test_fit_texture_basis_refuses_bad_requests_in_one_line(tmp_path, embedder):
    path = tmp_path / "my.weights.h5"
    embedder.vgg.save_weights(str(path))
    done = run("fit-texture-basis", "--weights", str(path))
    assert done.returncode == 2
    assert (
        done.stderr
        == "shirtsim: The shipped basis is for the packaged weights, not file my.weights.h5: pass --out FILE.\n"
    )
    assert run("fit-texture-basis", "--every", "0").stderr == (
        "shirtsim: fit-texture-basis: argument --every: 0 is out of range: use 1 to 1,000,000 (see --help)\n"
    )
    few = run("fit-texture-basis", "--every", "300", "--out", str(tmp_path / "b.npy"))
    assert (few.returncode, few.stderr) == (2, f"shirtsim: {DEMO}: too few images to fit a basis (1).\n")
    assert not (tmp_path / "b.npy").exists()
