-- Embedding vectors for semantic re-ranking (issue 6 §3), one per indexed document and model.
-- Keyed by the search index's document uid (`t:PAY-12`, `c:<test id>`, `d:<source>/<key>`),
-- because documents come from tickets, test cases and search_documents alike; the older
-- `embeddings` table can only point at search_documents. `content_hash` is the SHA-256 of the
-- text that was embedded, so a document is embedded again only when its text changed.
-- `vector` holds `dimensions` little-endian f32 values.
CREATE TABLE document_embeddings (
    uid          TEXT        NOT NULL,
    model        TEXT        NOT NULL,
    content_hash TEXT        NOT NULL,
    dimensions   INTEGER     NOT NULL CHECK (dimensions > 0),
    vector       BYTEA       NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (uid, model)
);
