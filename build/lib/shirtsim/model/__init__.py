"""The VGG16 model: its weights, its arithmetic (float32, bfloat16, int8) and its input."""
