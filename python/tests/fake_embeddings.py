"""A fake OpenAI-compatible embeddings endpoint on 127.0.0.1 with deterministic vectors.

``POST /v1/embeddings`` takes ``{"model", "input": [texts]}`` and answers ``{"object": "list",
"data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}``, as the OpenAI API
does. The data comes back in reverse order, so a client that ignores ``index`` mixes vectors
up and the tests see it.

A text's vector counts the words of each concept in it (plus a small constant), so texts about
the same thing point the same way. ``pinned`` maps an exact input to a vector of its own: a
test pins a query to the concept of the document it expects first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fake_http import Fake, Reply, Request

KEY = "sk-fake-embeddings-9c2e"

CONCEPTS: tuple[frozenset[str], ...] = (
    frozenset({"refresh", "renewed", "renewal", "expiry", "session"}),
    frozenset({"expired", "rejected", "denied", "invalid"}),
    frozenset({"currency", "locale", "symbol", "checkout"}),
)


def concept_vector(text: str) -> list[float]:
    words = re.split(r"[^0-9a-z]+", text.lower())
    return [0.05 + sum(1 for w in words if w in concept) for concept in CONCEPTS]


@dataclass
class FakeEmbeddings(Fake):
    """Records the texts it embedded; ``pinned`` overrides the vector of an exact input, and
    while ``outage`` is set every call gets it instead of vectors."""

    pinned: dict[str, list[float]] = field(default_factory=dict)
    embedded: list[str] = field(default_factory=list)
    outage: Reply | None = None

    def __post_init__(self) -> None:
        self.auth_header = f"Bearer {KEY}"

    def unauthorized(self) -> Reply:
        return Reply(
            401,
            {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}},
        )

    def route(self, r: Request) -> Reply:
        if self.outage is not None:
            return self.outage
        if r.method != "POST" or r.path != "/v1/embeddings":
            return Reply(404, {"error": {"message": "not found"}})
        body = r.body if isinstance(r.body, dict) else {}
        inputs = body.get("input")
        if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
            return Reply(400, {"error": {"message": "input must be a list of strings"}})
        with self.lock:
            self.embedded.extend(inputs)
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": self.pinned.get(text) or concept_vector(text),
            }
            for i, text in enumerate(inputs)
        ]
        data.reverse()
        return Reply(
            body={
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
            }
        )
