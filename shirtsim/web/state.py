"""What one visitor is searching for, as one typed object in the session (not loose keys).

The query is a catalog shirt (``?shirt=`` in the URL, so a link opens it) or an uploaded photo;
the photo is read once per content, descriptor kind and box; like / unlike marks belong to the
query they were made on (a new query starts unmarked); the colour is the one "this pattern in
another colour" asks for. The Search page and the Catalog map both read it, so the map marks
exactly what the Search page shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from shirtsim.catalog.crop import WHOLE, Box
from shirtsim.index.search import VectorIndex
from shirtsim.query import Query, Steering
from shirtsim.upload import Upload

KEY = "search"


@dataclass
class Photo:
    """The uploaded photo: the uploader's id for the file, and what was read from it."""

    file_id: str
    digest: str | None = None  # sha256 of its bytes, once read
    kind: str = ""  # the descriptor kind it was read for
    box: Box = WHOLE  # the part of it that was searched
    upload: Upload | None = None


@dataclass
class Marks:
    """More like / less like marks, made on one query."""

    query: object = None
    liked: list[str] = field(default_factory=list)
    unliked: list[str] = field(default_factory=list)


@dataclass
class SearchState:
    source: str = "shirt"  # "shirt": the catalog shirt in ?shirt=; "upload": the uploaded photo
    shirt: str | None = None  # the catalog shirt last searched for (kept when another page drops ?shirt=)
    photo: Photo | None = None
    marks: Marks = field(default_factory=Marks)
    colour: str | None = None  # "this pattern in another colour", when asked for
    uploader: int = 0  # the uploader's generation: a new one is empty

    def query(self, index: VectorIndex) -> Query | None:
        """The current query: the upload (when it is the source and was read for this index's
        kind), else the indexed shirt in ``?shirt=``, else None."""
        if self.source == "upload":
            photo = self.photo
            return photo.upload if photo and photo.upload and photo.kind == index.kind.name else None
        shirt = st.query_params.get("shirt") or self.shirt
        return shirt if shirt and shirt in index else None

    def query_key(self, query: Query) -> object:
        """What identifies a query for its marks: a shirt's id, or the photo and box it was read with."""
        if isinstance(query, str):
            return query
        photo = self.photo
        return (photo.digest, photo.kind, photo.box) if photo else None

    def steering(self, query: Query) -> Steering:
        """How ``query`` is steered: the marks made on it and the colour asked for."""
        if self.marks.query != self.query_key(query):  # a new query starts unmarked
            self.marks = Marks(self.query_key(query))
        return Steering((query, *self.marks.liked), tuple(self.marks.unliked), self.colour)

    def mark(self, shirt_id: str, liked: bool) -> None:
        target, other = (self.marks.liked, self.marks.unliked) if liked else (self.marks.unliked, self.marks.liked)
        if shirt_id not in target:
            target.append(shirt_id)
        if shirt_id in other:
            other.remove(shirt_id)

    def clear_marks(self) -> None:
        self.marks = Marks(self.marks.query)


def search_state() -> SearchState:
    """This session's search (made on first use)."""
    if KEY not in st.session_state:
        st.session_state[KEY] = SearchState()
    return st.session_state[KEY]


def select(shirt_id: str) -> None:
    """A tile's callback: that catalog shirt becomes the query (and the URL says so). An uploaded
    photo is let go, and the uploader emptied: the photo is no longer what is searched, and the
    next upload is then one run, not two (replacing a file that is still in the uploader first
    removes it, a run of its own: docs/performance.md)."""
    st.query_params["shirt"] = shirt_id
    state = search_state()
    state.source, state.shirt = "shirt", shirt_id
    if state.photo is not None:
        state.photo = None
        state.uploader += 1
