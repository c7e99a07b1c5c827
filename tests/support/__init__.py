"""Code the tests and the benchmarks both need: the browser launcher, catalogs made from real
photos, and the near-duplicate and crop measurements (tests never import benchmarks/)."""
