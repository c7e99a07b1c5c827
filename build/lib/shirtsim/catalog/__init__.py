"""A store's catalog: its folder, labels, images, thumbnails, an upload's box, the demo."""
