"""Descriptors: what a picture's vector holds, its learned projection, steering and explanations."""
