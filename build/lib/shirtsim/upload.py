"""A photo from outside (an upload in the page, a query file in the CLI), read once: decoded,
its box proposed, cut out, previewed and described.

The work per photo is bounded by construction, whatever its size or shape: the decode is capped
at :data:`UPLOAD_SIDE` px on the long side (so a 20,900 x 1,000 panorama, which a reduced decode
cannot shrink by its short side, comes out 2,048 x 98), and every later step works on that
picture or smaller ones (the box on a 320 px copy, the cut-out at most
:data:`shirtsim.catalog.crop.CUT_SIDE` before it is padded to a square, a 512 px preview, a 224 px model
input). A picture more than :data:`MAX_ASPECT` times as long as it is wide is not a photo of a
shirt: it is refused from its header, with a message, instead of being described as a line of
pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shirtsim.catalog.crop import WHOLE, Box, background, cut_out, propose_box, studio_shot, work_copy
from shirtsim.catalog.images import decode_image
from shirtsim.catalog.thumbnails import PREVIEW, make_thumbnail
from shirtsim.describe.descriptors import Kind
from shirtsim.describe.embed import embed
from shirtsim.model.inputs import to_model_input
from shirtsim.model.vgg16 import Embedder

UPLOAD_SIDE = 2048  # an upload is decoded at most this large on its long side (the model sees 224 px)
MAX_ASPECT = 25  # a longer side over this many times the shorter one is refused


@dataclass(frozen=True)
class Upload:
    """A photo from outside, read once: its descriptor and a picture of it at display size."""

    vector: np.ndarray  # raw descriptor of the kind it was read for
    preview: bytes  # JPEG, PREVIEW px on the long side
    pixels: np.ndarray  # the model's input (224x224x3 uint8), for an explanation's heat map
    box: Box | None = None  # the part of the photo that was searched (None: all of it, as it is)
    proposed: Box | None = None  # the box shirtsim.catalog.crop proposes for this photo (when one was asked for)


def read_photo(embedder: Embedder, kind: Kind, data: bytes, name: str, box: Box | str | None = None) -> Upload:
    """Decode (at most :data:`UPLOAD_SIDE` px) and describe a photo, the whole of it (``box``
    None) or its cut-out (:func:`shirtsim.catalog.crop.cut_out`) by ``box``. ``"auto"``: the proposed
    box, except for a photo on a studio backdrop, which is framed like the catalog's photos
    already and is searched as it is (box None; so is its whole, WHOLE). The preview is always
    the whole photo: the app draws the box on it."""
    img = decode_image(data, name, at_most=UPLOAD_SIDE, max_aspect=MAX_ASPECT)
    work = work_copy(img) if box is not None else None
    mask = background(work) if work is not None else None
    proposed = propose_box(img, mask) if mask is not None else None
    if box == "auto" or box == WHOLE:  # the whole of a studio shot is the photo as it is
        box = None if studio_shot(work) else (proposed if box == "auto" else WHOLE)
    searched = cut_out(img, box, mask) if box is not None else img
    pixels = to_model_input(searched)
    vector = embed(embedder, kind, pixels[None])[0]
    return Upload(vector, make_thumbnail(img, PREVIEW), pixels, box, proposed)
