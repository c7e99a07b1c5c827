"""Near-duplicate product photos: the same picture re-encoded, resized, slightly cropped or mirrored.

The similarity vector cannot tell these from look-alikes (one model in one pose wearing two
shirts scores 0.99 in any global descriptor), so duplicates have their own descriptor, a
:class:`PhotoPrint` (a 48x48 colour and a 128x128 grey copy of the photo, 23 KB), and a
two-step test:

1. **Candidates.** Each photo's 16x16 colour picture (mean removed, unit length) is compared
   with the other photo's, as is, mirrored, and cut 5% from one corner or 2.5% all round
   (:data:`CUTS`); each photo's best :data:`CANDIDATES_PER_PHOTO` partners whose best cosine is
   at least :data:`CANDIDATE_MIN` are candidates. The cuts line a cropped copy up with its
   source, so a real copy scores above 0.99 here (its source's best partner).
2. **Verification** gives the *duplicate score*: the two grey pictures lined up by the best
   cut and mirror of step 1, reduced to their detail between about 1 and 3 px (survives JPEG
   and a 50% resize; differs between two shoots of the same pose), and compared by normalised
   cross-correlation, shifted up to 4 px either way, less a penalty when their colours differ
   (:func:`pair_score`). A copy scores 0.94-1.0, two photos of one pose at most 0.90 on
   real-shirts-dev (docs/quality.md, Near-duplicates).

**Flat pictures** (a blank "no photo" image, in any encoding or size) have no detail to correlate
and no shape to line up, so both steps pass them by; instead every flat picture is a candidate
of the flat pictures nearest its colour, and two flat pictures score 1.0 less the same colour
penalty (:func:`flat_score`): a grey placeholder and its JPEG are one picture, white and navy
are not, and a flat picture and a photo never pair. A placeholder with a visible label is not
flat: its label is detail, and it is verified like any photo.

Photos join a group when a pair scores at least the threshold (single link); a group's score
is the lowest score of the links that joined it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from shirtsim.catalog.folder import Catalog, Skipped
from shirtsim.catalog.images import decode_image, read_limited
from shirtsim.errors import BadImageError
from shirtsim.progress import ProgressFn
from shirtsim.store import VERSION as STORE_VERSION
from shirtsim.store import CorruptFile, HashCache, content_hash, read_blob, write_blob

COLOUR_SIDE = 48  # stored colour picture; the candidates' pictures are cut from it
COARSE = 16
FINE = 128
CUT = 0.05
# (left, top, right, bottom) fractions of the frame: a copy cropped by CUT from a corner, or by
# CUT / 2 all round, lines up with its source's picture cut the same way.
CUTS = (
    (0.0, 0.0, 1.0, 1.0),
    (CUT, CUT, 1.0, 1.0),
    (0.0, CUT, 1.0 - CUT, 1.0),
    (CUT, 0.0, 1.0, 1.0 - CUT),
    (0.0, 0.0, 1.0 - CUT, 1.0 - CUT),
    (CUT / 2, CUT / 2, 1.0 - CUT / 2, 1.0 - CUT / 2),
)
BAND = (1.0, 3.0)  # Gaussian blur radii (px at FINE) whose difference is the compared detail
SHIFT = 4  # px at FINE, each way
FLAT = 1e-6  # detail below this share of the picture's own is no detail at all
# A copy's colours differ from its source's by at most ~7 (mean of 0-255 differences; JPEG at
# quality 60, a 5% crop); two drawings alike in all but colour, by 20 and more.
COLOUR_FREE = 8.0
COLOUR_PENALTY = 0.02
# Flat: every pixel of the colour picture within this of the picture's median colour (0-255, in
# each channel). A flat picture re-encoded as JPEG stays within 2; every photo of real-shirts-dev
# and the demo is off by 75 and more somewhere, and a 24 px label on an 800 px placeholder by 30.
FLAT_LEVEL = 8.0
FLAT_MIN_SCORE = 0.5  # flat pairs are candidates down to this score (a colour gap of 33)
CANDIDATE_MIN = 0.95
CANDIDATES_PER_PHOTO = 10  # a copy's source was its best partner in every measured case (docs/quality.md)
DEFAULT_THRESHOLD = 0.92  # chosen with benchmarks/duplicates.py (docs/quality.md)
COARSE_DIM = COARSE * COARSE * 3
PRINT_BYTES = COLOUR_SIDE * COLOUR_SIDE * 3 + FINE * FINE
VERSION = "dup1"  # names the cached prints: change it when what they hold changes


@dataclass(frozen=True)
class PhotoPrint:
    """What the duplicate test keeps of one photo (:data:`PRINT_BYTES` as bytes)."""

    colour: np.ndarray  # (COLOUR_SIDE, COLOUR_SIDE, 3) uint8: the photo squeezed to a square
    grey: np.ndarray  # (FINE, FINE) uint8, the same

    def to_bytes(self) -> bytes:
        return self.colour.astype(np.uint8).tobytes() + self.grey.astype(np.uint8).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> PhotoPrint:
        """ValueError when ``data`` is not a print (a damaged cache file)."""
        if len(data) != PRINT_BYTES:
            raise ValueError(f"a photo print is {PRINT_BYTES} bytes, not {len(data)}")
        split = COLOUR_SIDE * COLOUR_SIDE * 3
        colour = np.frombuffer(data[:split], np.uint8).reshape(COLOUR_SIDE, COLOUR_SIDE, 3)
        return cls(colour, np.frombuffer(data[split:], np.uint8).reshape(FINE, FINE))


@dataclass(frozen=True)
class Group:
    ids: list[str]
    score: float  # the weakest duplicate score that joined the group

    def as_json(self) -> dict:
        return {"ids": self.ids, "score": round(self.score, 4)}


def describe_photo(img: Image.Image) -> PhotoPrint:
    """The print of one decoded photo."""
    square = img.convert("RGB").resize((FINE, FINE), Image.BOX, reducing_gap=2.0)
    colour = square.resize((COLOUR_SIDE, COLOUR_SIDE), Image.BOX)
    return PhotoPrint(np.asarray(colour, np.uint8), np.asarray(square.convert("L"), np.uint8))


def _coarse(colour: np.ndarray, cut_index: int = 0) -> np.ndarray:
    """A print's colour picture under ``CUTS[cut_index]`` at COARSE x COARSE (float32, 0-255)."""
    x0, y0, x1, y1 = (v * COLOUR_SIDE for v in CUTS[cut_index])
    cut = Image.fromarray(colour).resize((COARSE, COARSE), Image.BOX, box=(x0, y0, x1, y1))
    return np.asarray(cut, np.float32)


def coarse_pictures(prints: list[PhotoPrint]) -> np.ndarray:
    """(len(CUTS), n, COARSE_DIM) float32: each print's picture under each cut, mean removed, unit length."""
    out = np.zeros((len(CUTS), len(prints), COARSE_DIM), np.float32)
    for n, p in enumerate(prints):
        for c in range(len(CUTS)):
            a = _coarse(p.colour, c) / 255
            v = (a - a.mean(axis=(0, 1))).reshape(-1)
            norm = float(np.sqrt((v * v).sum()))
            out[c, n] = v / norm if norm > 1e-6 else v
    return out


def is_flat(photo_print: PhotoPrint) -> bool:
    """Whether a photo is one colour all over (:data:`FLAT_LEVEL`): a blank placeholder."""
    colour = photo_print.colour.reshape(-1, 3).astype(np.int16)
    if (colour.max(axis=0) - colour.min(axis=0)).max() > 2 * FLAT_LEVEL:  # the quick answer for a photo
        return False
    return bool(np.abs(colour - np.median(colour, axis=0)).max() <= FLAT_LEVEL)


def flat_score(a: PhotoPrint, b: PhotoPrint) -> float:
    """The duplicate score of two flat photos: nothing tells them apart but their colours, so 1.0
    less :data:`COLOUR_PENALTY` per unit of :func:`colour_gap` beyond :data:`COLOUR_FREE`, as for photos."""
    return 1.0 - COLOUR_PENALTY * max(0.0, colour_gap(a, b) - COLOUR_FREE)


def _flat_candidates(prints: list[PhotoPrint], keep: int, rows_per_block: int = 4_000_000) -> list[Candidate]:
    """Flat photos against one another: each keeps its ``keep`` nearest in mean colour whose
    :func:`flat_score` can reach :data:`FLAT_MIN_SCORE` (the coarse pictures of flat photos
    are all zero: the coarse step never pairs them)."""
    flat = [n for n, p in enumerate(prints) if is_flat(p)]
    if len(flat) < 2 or keep < 1:
        return []
    means = np.array([prints[n].colour.reshape(-1, 3).mean(axis=0) for n in flat], np.float32)
    keep = min(keep, len(flat) - 1)
    widest = COLOUR_FREE + (1.0 - FLAT_MIN_SCORE) / COLOUR_PENALTY
    found = []
    step = max(1, rows_per_block // len(flat))  # (step, flat) float32 temporaries: ~16 MB each
    for start in range(0, len(flat), step):
        gaps = sum(np.abs(means[start : start + step, None, c] - means[None, :, c]) for c in range(3)) / 3
        rows = np.arange(len(gaps))
        gaps[rows, start + rows] = np.inf  # not itself
        nearest = np.argpartition(gaps, keep - 1, axis=1)[:, :keep]
        for r, cols in enumerate(nearest):
            for col in cols[gaps[r, cols] <= widest]:
                found.append(Candidate(flat[start + r], flat[int(col)], 0, False, 1.0))
    return found


def _mirrored(pictures: np.ndarray) -> np.ndarray:
    return pictures.reshape(len(pictures), COARSE, COARSE, 3)[:, :, ::-1].reshape(len(pictures), -1)


@dataclass(frozen=True)
class Candidate:
    """Photo ``whole`` against photo ``cut`` under cut ``cut_index`` of CUTS (then mirrored)."""

    whole: int
    cut: int
    cut_index: int
    mirrored: bool
    coarse: float


def candidates(prints: list[PhotoPrint], block: int = 512) -> list[Candidate]:
    """Pairs close enough to verify, each once, with the cut and mirror that line them up best.

    Every photo is the whole one against every other's cuts and mirrors, so a copy cut from
    either side of a pair is lined up; each photo keeps its :data:`CANDIDATES_PER_PHOTO` best
    partners from :data:`CANDIDATE_MIN` on, so the work grows with the catalog, not with its
    square (a template-shot catalog has thousands of look-alikes per photo)."""
    pictures = coarse_pictures(prints)
    ways = [(c, mirrored) for mirrored in (False, True) for c in range(len(CUTS))]
    turned = [_mirrored(pictures[c]) if mirrored else pictures[c] for c, mirrored in ways]
    found: dict[tuple[int, int], Candidate] = {}
    keep = min(CANDIDATES_PER_PHOTO, len(prints) - 1)
    for start in range(0, len(prints), block):
        query = pictures[0][start : start + block]
        best = np.full((len(query), len(prints)), -np.inf, np.float32)
        way = np.zeros(best.shape, np.int8)
        for n, others in enumerate(turned):
            scores = query @ others.T
            better = scores > best
            best[better], way[better] = scores[better], n
        rows = np.arange(len(query))
        best[rows, start + rows] = -np.inf  # not itself
        top = np.argpartition(-best, keep - 1, axis=1)[:, :keep] if keep > 0 else np.zeros((len(query), 0), int)
        for r, cols in enumerate(top):
            for col in cols[best[r, cols] >= CANDIDATE_MIN]:
                whole, cut, score = start + r, int(col), float(best[r, col])
                key = (min(whole, cut), max(whole, cut))
                if key not in found or score > found[key].coarse:
                    c, mirrored = ways[way[r, col]]
                    found[key] = Candidate(whole, cut, c, mirrored, score)
    for flat in _flat_candidates(prints, CANDIDATES_PER_PHOTO):
        found.setdefault((min(flat.whole, flat.cut), max(flat.whole, flat.cut)), flat)
    return [found[key] for key in sorted(found)]


def colour_gap(a: PhotoPrint, b: PhotoPrint, cut_index: int = 0, mirrored: bool = False) -> float:
    """Mean absolute difference (0-255) of the two photos' colours, lined up like :func:`verify`."""
    theirs = _coarse(b.colour, cut_index)
    if mirrored:
        theirs = theirs[:, ::-1]
    return float(np.abs(_coarse(a.colour) - theirs).mean())


def band_pass(grey: np.ndarray) -> np.ndarray:
    """Detail between :data:`BAND` px of a grey picture: what the verification compares."""
    picture = Image.fromarray(grey)
    fine = np.asarray(picture.filter(ImageFilter.GaussianBlur(BAND[0])), np.float32)
    return fine - np.asarray(picture.filter(ImageFilter.GaussianBlur(BAND[1])), np.float32)


def _cut(grey: np.ndarray, cut: int) -> np.ndarray:
    x0, y0, x1, y1 = (v * FINE for v in CUTS[cut])
    return np.asarray(Image.fromarray(grey).resize((FINE, FINE), Image.BILINEAR, box=(x0, y0, x1, y1)))


def verify(a: PhotoPrint, b: PhotoPrint, cut_index: int = 0, mirrored: bool = False) -> float:
    """The duplicate score of photo ``a`` (whole) and photo ``b`` cut by ``CUTS[cut_index]``,
    then mirrored if asked (as :func:`candidates` lined them up)."""
    grey_b = _cut(b.grey, cut_index) if cut_index else b.grey
    if mirrored:
        grey_b = np.ascontiguousarray(grey_b[:, ::-1])
    frame, part = band_pass(a.grey), band_pass(grey_b)[SHIFT:-SHIFT, SHIFT:-SHIFT]
    return float(_ncc_map(frame, part).max())


def _ncc_map(frame: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of ``part`` at every position inside ``frame``."""
    h, w = part.shape
    frame = np.asarray(frame, np.float64)  # float64 all through: rounding noise must stay far below any detail
    p = np.asarray(part, np.float64) - part.mean()
    # sum(window * p) at every position, as one FFT correlation (p has mean 0, so the window's mean drops out)
    shape = frame.shape
    spectrum = np.fft.rfft2(frame, shape) * np.conj(np.fft.rfft2(p, shape))
    num = np.fft.irfft2(spectrum, shape)[: shape[0] - h + 1, : shape[1] - w + 1]
    sums = _box_sums(frame, h, w)
    spread = np.maximum(_box_sums(frame**2, h, w) - sums**2 / (h * w), 0.0)  # sum of (window - its mean)^2
    # (p * p).sum(), not np.linalg.norm: a BLAS call costs more than the whole map here
    norms = np.sqrt(spread) * np.sqrt((p * p).sum())
    # A window or a part without detail (a blank photo) matches nothing: 0, never noise / ~0.
    floor = FLAT * h * w * max(float((frame**2).mean()), float((p * p).mean()), 1e-12)
    ncc = np.where(norms > floor, num / np.maximum(norms, 1e-300), 0.0)
    return np.clip(ncc, -1.0, 1.0)


def _box_sums(picture: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sum of every h x w window of ``picture`` (integral image)."""
    table = np.zeros((picture.shape[0] + 1, picture.shape[1] + 1))
    table[1:, 1:] = np.asarray(picture, np.float64).cumsum(0).cumsum(1)
    return table[h:, w:] - table[:-h, w:] - table[h:, :-w] + table[:-h, :-w]


def scored_pairs(prints: list[PhotoPrint], progress: ProgressFn | None = None) -> list[tuple[float, int, int]]:
    """(duplicate score, i, j) of every candidate pair, best first."""
    if len(prints) < 2:
        return []
    links = []
    pairs = candidates(prints)
    for n, k in enumerate(pairs):
        if progress and n % 200 == 0:
            progress(n, len(pairs), "comparing look-alikes")
        score = pair_score(prints[k.whole], prints[k.cut], k.cut_index, k.mirrored)
        links.append((score, min(k.whole, k.cut), max(k.whole, k.cut)))
    if progress:
        progress(len(pairs), len(pairs), "comparing look-alikes")
    return sorted(links, reverse=True)


def pair_score(a: PhotoPrint, b: PhotoPrint, cut_index: int = 0, mirrored: bool = False) -> float:
    """The duplicate score: the detail's correlation (:func:`verify`), less
    :data:`COLOUR_PENALTY` per unit of :func:`colour_gap` beyond :data:`COLOUR_FREE` (the grey
    detail of a red and an orange shirt drawn alike can agree; their colours cannot). Two flat
    photos score :func:`flat_score`: they have no detail to agree on."""
    if is_flat(a) and is_flat(b):
        return flat_score(a, b)
    gap = colour_gap(a, b, cut_index, mirrored)
    return verify(a, b, cut_index, mirrored) - COLOUR_PENALTY * max(0.0, gap - COLOUR_FREE)


def group(ids: list[str], links: list[tuple[float, int, int]], threshold: float) -> list[Group]:
    """Groups from :func:`scored_pairs`' links at ``threshold`` (cheap: the app regroups on every
    move of its threshold slider without scoring again). Ids keep their order within a group."""
    parent = list(range(len(ids)))
    weakest: dict[int, float] = {}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for score, i, j in sorted(links, reverse=True):  # strongest links first: a group's score is its weakest
        if score < threshold:
            break
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[rj] = ri
            weakest[ri] = min(score, weakest.get(ri, score), weakest.get(rj, score))
    members: dict[int, list[str]] = {}
    for n, shirt_id in enumerate(ids):
        members.setdefault(root(n), []).append(shirt_id)
    groups = [Group(m, weakest[r]) for r, m in members.items() if len(m) > 1]
    return sorted(groups, key=lambda g: (-g.score, g.ids[0]))


# ---------------------------------------------------------------------------------------------
# A catalog's prints: made once per image content, kept in the cache like its vectors
# ---------------------------------------------------------------------------------------------


class PrintStore:
    """Photo prints by image content hash: ``v1/prints/<VERSION>/<hh>/<sha256>.bin``, each in the
    store's checksummed blob format; a damaged one is simply made again from the catalog file."""

    def __init__(self, cache_dir: str | Path) -> None:
        self.root = Path(cache_dir) / f"v{STORE_VERSION}" / "prints" / VERSION

    def _path(self, content_hash: str) -> Path:
        return self.root / content_hash[:2] / f"{content_hash}.bin"

    def get(self, content_hash: str) -> PhotoPrint | None:
        try:
            return PhotoPrint.from_bytes(read_blob(self._path(content_hash)))
        except (OSError, CorruptFile, ValueError):
            return None

    def put(self, content_hash: str, photo_print: PhotoPrint) -> None:
        write_blob(self._path(content_hash), photo_print.to_bytes())


@dataclass
class CatalogPrints:
    ids: list[str]
    prints: list[PhotoPrint]
    skipped: list[Skipped]
    made: int  # prints made now (the rest came from the cache)


@dataclass
class DuplicateScan:
    """A catalog's scored candidate pairs: all that grouping at any threshold needs (the prints
    themselves, ~23 KB a photo, are not kept)."""

    ids: list[str]
    skipped: list[Skipped]
    links: list[tuple[float, int, int]]

    def groups(self, threshold: float = DEFAULT_THRESHOLD) -> list[Group]:
        return group(self.ids, self.links, threshold)


def scan_catalog(catalog: Catalog, cache_dir: Path, progress: ProgressFn | None = None) -> DuplicateScan:
    """Read (or make) every photo's print and score its candidate pairs."""
    found = catalog_prints(catalog, cache_dir, progress)
    return DuplicateScan(found.ids, found.skipped, scored_pairs(found.prints, progress))


def catalog_prints(catalog: Catalog, cache_dir: Path, progress: ProgressFn | None = None) -> CatalogPrints:
    """Every readable catalog photo's print, from the cache or made now (no model needed).
    Unreadable files are skipped and listed, never fatal."""
    store, hashes = PrintStore(cache_dir), HashCache(cache_dir, catalog.root)
    out = CatalogPrints([], [], list(catalog.skipped), 0)  # what listing the folder left out, then what fails to read
    for n, item in enumerate(catalog.items):
        if progress and n % 100 == 0:
            progress(n, len(catalog.items), "reading photos")
        known = hashes.lookup(item.rel, item.size, item.mtime_ns)
        photo_print = store.get(known) if known else None
        if photo_print is None:
            try:
                data = read_limited(item.path)
                img = decode_image(data, item.id, at_least=(FINE, FINE))
            except BadImageError as e:
                out.skipped.append(Skipped.because(item.rel, e))
                continue
            digest = content_hash(data)
            hashes.remember(item.rel, item.size, item.mtime_ns, digest)
            photo_print = describe_photo(img)
            store.put(digest, photo_print)
            out.made += 1
        out.ids.append(item.id)
        out.prints.append(photo_print)
    if progress:
        progress(len(catalog.items), len(catalog.items), "reading photos")
    hashes.save({it.rel for it in catalog.items})
    return out
