"""The merchandiser's feed: a store's rules, its curation (pins and blocks), and every product's
similar list, made one way for the command line, the export and the page."""
