"""`qapms search` with semantic ranking, against a fake OpenAI-compatible embeddings endpoint.

`--reindex` embeds what it indexed (only what changed on the next run), a query is re-ranked
by meaning among its keyword hits, and an endpoint that rate-limits, fails or is gone leaves
the keyword ranking in place with a warning, never a failed command. The key stays out of
every output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Home
from fake_embeddings import KEY, FakeEmbeddings, concept_vector
from fake_http import Reply, serve
from test_cli_search import imported

EXPIRED = "tests.auth.TestTokens::test_expired_token_is_rejected"
RENEWED = "tests.auth.TestTokens::test_refresh_token_renewed_before_expiry"


@pytest.fixture
def embeddings() -> Iterator[FakeEmbeddings]:
    yield from serve(FakeEmbeddings())


def configure(home: Home, endpoint: str, weight: float = 1.0) -> None:
    home.env["EMBED_KEY"] = KEY
    (home.cwd / "qapms.yaml").write_text(
        "search:\n"
        "  embeddings:\n"
        f"    endpoint: {endpoint}/v1/embeddings\n"
        "    model: fake-embed-1\n"
        "    api_key: ${EMBED_KEY}\n"
        f"    hybrid_weight: {weight}\n"
    )


def search(home: Home, query: str) -> tuple[dict[str, Any], str]:
    result = home.qapms("search", query, "--json")
    assert result.returncode == 0, result.stderr
    assert KEY not in result.stdout + result.stderr
    return json.loads(result.stdout), result.stderr


def keys(body: dict[str, Any]) -> list[str]:
    return [hit["key"] for hit in body["hits"]]


def test_reindex_embeds_and_queries_rank_by_meaning(home: Home, embeddings: FakeEmbeddings) -> None:
    imported(home)
    # Keyword order first, with no embeddings configured.
    lexical, _ = search(home, "token")
    assert sorted(keys(lexical)) == sorted([EXPIRED, RENEWED])

    configure(home, embeddings.url)
    reindexed = home.qapms("search", "--reindex", "--json")
    assert reindexed.returncode == 0, reindexed.stderr
    assert KEY not in reindexed.stdout + reindexed.stderr
    status = json.loads(reindexed.stdout)
    assert status["documents"] == 3
    assert status["embeddings"]["embedded"] == 3, status
    assert status["embeddings"]["warning"] is None
    assert "embedded 3 documents with fake-embed-1" in reindexed.stderr
    assert len(embeddings.embedded) == 3
    assert all(c.headers["authorization"] == f"Bearer {KEY}" for c in embeddings.requests)

    # Nothing changed: the next --reindex embeds nothing again.
    again = json.loads(home.qapms("search", "--reindex", "--json").stdout)
    assert again["embeddings"] == {
        "scanned": 3,
        "embedded": 0,
        "unchanged": 3,
        "warning": None,
    }
    assert len(embeddings.embedded) == 3

    # The query means whichever document came last by keywords: meaning puts it first.
    last = keys(lexical)[-1]
    embeddings.pinned["token"] = concept_vector(
        "expired rejected" if last == EXPIRED else "refresh"
    )
    body, _ = search(home, "token")
    assert keys(body)[0] == last, body
    assert sorted(keys(body)) == sorted(keys(lexical)), "re-ranking never widens the hits"
    assert any("ranked by keywords and meaning (model fake-embed-1" in n for n in body["notes"])


@pytest.mark.parametrize(
    "outage",
    [
        Reply(429, {"error": {"message": "Rate limit reached"}}, {"Retry-After": "0"}),
        Reply(500, {"error": {"message": "The server had an error"}}),
    ],
    ids=["rate-limited", "server-error"],
)
def test_endpoint_failures_degrade_to_keywords(
    home: Home, embeddings: FakeEmbeddings, outage: Reply
) -> None:
    imported(home)
    lexical, _ = search(home, "token")
    configure(home, embeddings.url)
    embeddings.outage = outage

    reindexed = home.qapms("search", "--reindex", "--json")
    assert reindexed.returncode == 0, reindexed.stderr
    status = json.loads(reindexed.stdout)
    assert status["documents"] == 3, "the keyword index is built whatever embedding does"
    assert status["embeddings"]["embedded"] == 0
    assert status["embeddings"]["warning"]
    assert "warning: embedding stopped early" in reindexed.stderr

    body, stderr = search(home, "token")
    assert keys(body) == keys(lexical)
    assert any("ranked by keywords" in n and "unavailable" in n for n in body["notes"]), body
    assert "unavailable" in stderr

    # The endpoint recovers: the next --reindex embeds what the failed one left.
    embeddings.outage = None
    recovered = json.loads(home.qapms("search", "--reindex", "--json").stdout)
    assert recovered["embeddings"]["embedded"] == 3


def test_a_gone_endpoint_or_a_wrong_key_still_searches(
    home: Home, embeddings: FakeEmbeddings
) -> None:
    imported(home)
    lexical, _ = search(home, "token")

    # Wrong key: the endpoint answers 401; the key sent is not echoed anywhere.
    configure(home, embeddings.url)
    home.env["EMBED_KEY"] = "sk-wrong-key-0000"
    result = home.qapms("search", "token", "--json")
    assert result.returncode == 0, result.stderr
    assert "sk-wrong-key-0000" not in result.stdout + result.stderr
    assert keys(json.loads(result.stdout)) == keys(lexical)

    # Nothing listens on the port any more.
    configure(home, "http://127.0.0.1:9")
    body, stderr = search(home, "token")
    assert keys(body) == keys(lexical)
    assert "unavailable" in stderr
