"""shirtsim: visually similar shirts from a store's catalog (VGG16 embeddings, cosine ranking)."""

__version__ = "0.1.0"

import os as _os

# TensorFlow prints start-up chatter (CPU features, missing CUDA) to stderr at import; users
# only need real errors, which still arrive as Python exceptions.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
