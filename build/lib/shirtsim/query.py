"""What a search is about: a query (a catalog shirt or a photo from outside), how it is steered,
and why a result matched it."""

from __future__ import annotations

from dataclasses import dataclass

from shirtsim.describe.explain import PartScore, Swatch
from shirtsim.upload import Upload

Query = str | Upload  # a catalog shirt's id, or a photo from outside


@dataclass(frozen=True)
class Steering:
    """What the results should be like: ``like`` (at least one) and ``unlike`` shirts or photos,
    and optionally a colour (``#rrggbb``) or another catalog shirt whose colours to take."""

    like: tuple[Query, ...]
    unlike: tuple[Query, ...] = ()
    colour: str | None = None
    colour_of: str | None = None

    def marked(self) -> list[str]:
        """The catalog shirts marked, left out of the results."""
        return [q for q in self.like + self.unlike if isinstance(q, str)]


@dataclass(frozen=True)
class Explanation:
    """Why ``result`` matched ``query``: :func:`shirtsim.describe.explain.part_scores` and both palettes."""

    score: float
    parts: list[PartScore]
    query_colours: list[Swatch]
    result_colours: list[Swatch]

    def as_json(self) -> dict:
        return {
            "score": round(self.score, 6),
            "parts": {
                p.name: {
                    "cosine": round(p.cosine, 6),
                    "weight": round(p.weight, 6),
                    "contribution": round(p.contribution, 6),
                }
                for p in self.parts
            },
            "colours": {
                "query": [{"hex": c.hex, "share": c.share} for c in self.query_colours],
                "result": [{"hex": c.hex, "share": c.share} for c in self.result_colours],
            },
        }
