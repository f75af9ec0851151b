//! Optional semantic ranking, part one: embedding documents with the user's own key (BYOK).
//!
//! [`EmbeddingClient`] speaks the `OpenAI` embeddings API (`POST …/embeddings` with `model` and
//! a list of `input`s, answered with `data[].embedding` by `index`), which most hosted and local
//! servers also offer. It runs on the one HTTP client: the key is a sensitive `Authorization:
//! Bearer` header registered with the redactor, and never logged. Two flavours of call:
//! document batches during sync, retried with the usual backoff and a generous timeout, and the
//! single query embedding at search time, not retried and given a short timeout, because a
//! search must degrade to keyword ranking rather than wait.
//!
//! [`embed_pending`] is what sync calls after it has written documents: it pages through every
//! document the index is built from (tickets, test cases, search documents), hashes the text
//! that would be embedded, and embeds, in batches, only the documents whose vector is missing
//! or was made from other text. Vectors go to the store (`document_embeddings`), keyed by the
//! index's document uid and the model, so changing the model re-embeds everything. If the
//! endpoint fails (rate limits, 5xx, timeouts, a bad answer), the pass stops, keeps what it
//! stored so far, and reports a warning in [`EmbedOutcome`]: the next pass resumes where this
//! one stopped. Only a store failure is an error.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use url::Url;

use super::document::IndexDoc;
use super::pages::DocPages;
use crate::config::EmbeddingsConfig;
use crate::http::{Auth, HttpClient, RetryPolicy};
use crate::logging::Redactor;
use crate::secrets::Unlocked;
use crate::store::{EmbeddingRow, Store};
use crate::{Error, ErrorKind, Result};

/// Texts per embeddings request.
pub const DEFAULT_BATCH: usize = 64;
/// Characters of a document sent for embedding: about 2,000 tokens, well inside every common
/// model's input limit, and the start of a document carries most of its meaning.
const MAX_TEXT_CHARS: usize = 8_000;
/// Rows read from the store per page.
const PAGE: u32 = 500;

/// An OpenAI-compatible embeddings endpoint; see the module docs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EmbeddingClient {
    batch_http: HttpClient,
    query_http: HttpClient,
    path: String,
    model: String,
    dimensions: Option<u32>,
    batch: usize,
}

/// Builds an [`EmbeddingClient`]; see [`EmbeddingClient::builder`].
#[derive(Debug)]
pub struct EmbeddingClientBuilder {
    endpoint: String,
    model: String,
    api_key: Option<SecretString>,
    dimensions: Option<u32>,
    batch: usize,
    redactor: Option<Redactor>,
    batch_timeout: Duration,
    query_timeout: Duration,
    retry: RetryPolicy,
}

impl EmbeddingClientBuilder {
    /// The key, sent as `Authorization: Bearer` to the endpoint only.
    pub fn api_key(mut self, key: SecretString) -> Self {
        self.api_key = Some(key);
        self
    }

    /// Asks for vectors of this length (models that support shortening, such as `OpenAI`'s
    /// `text-embedding-3-*`), and checks that answers have it.
    pub fn dimensions(mut self, dimensions: Option<u32>) -> Self {
        self.dimensions = dimensions;
        self
    }

    /// Texts per request (default 64).
    pub fn batch_size(mut self, batch: usize) -> Self {
        self.batch = batch.clamp(1, 2048);
        self
    }

    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// Time allowed for a document batch (default 60 s) and for a query (default 5 s).
    pub fn timeouts(mut self, batch: Duration, query: Duration) -> Self {
        self.batch_timeout = batch;
        self.query_timeout = query;
        self
    }

    /// Retries of document batches (queries are never retried).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn build(self) -> Result<EmbeddingClient> {
        let url = Url::parse(&self.endpoint).map_err(|e| {
            Error::config(format!(
                "search.embeddings.endpoint `{}` is not a URL",
                self.endpoint
            ))
            .with_source(e)
        })?;
        if self.model.trim().is_empty() {
            return Err(Error::config("search.embeddings.model must not be empty"));
        }
        let mut origin = url.clone();
        origin.set_path("/");
        origin.set_query(None);
        let client = |timeout: Duration, retry: RetryPolicy| {
            let mut http = HttpClient::builder("embeddings", origin.as_str())
                .timeout(Some(timeout))
                .retry(retry);
            if let Some(key) = &self.api_key {
                http = http.auth(Auth::Bearer(key.clone()));
            }
            if let Some(redactor) = &self.redactor {
                http = http.redactor(redactor.clone());
            }
            http.build()
        };
        if let (Some(key), Some(redactor)) = (&self.api_key, &self.redactor) {
            redactor.add(key);
        }
        Ok(EmbeddingClient {
            batch_http: client(self.batch_timeout, self.retry.clone())?,
            query_http: client(self.query_timeout, RetryPolicy::none())?,
            path: url.path().to_owned(),
            model: self.model,
            dimensions: self.dimensions,
            batch: self.batch,
        })
    }
}

#[derive(Serialize)]
struct EmbedRequest<'a> {
    model: &'a str,
    input: &'a [String],
    encoding_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u32>,
}

#[derive(Deserialize)]
struct EmbedAnswer {
    data: Vec<EmbedItem>,
}

#[derive(Deserialize)]
struct EmbedItem {
    #[serde(default)]
    index: Option<usize>,
    embedding: Vec<f32>,
}

impl EmbeddingClient {
    /// A client for `endpoint` (the full URL, e.g. `https://api.openai.com/v1/embeddings`).
    ///
    /// ```no_run
    /// # async fn run() -> qapms_core::Result<()> {
    /// use qapms_core::search::embed::EmbeddingClient;
    /// use secrecy::SecretString;
    /// let client = EmbeddingClient::builder("https://api.openai.com/v1/embeddings", "text-embedding-3-small")
    ///     .api_key(SecretString::from("sk-..."))
    ///     .build()?;
    /// let vectors = client.embed(&["login token refresh".to_owned()]).await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(
        endpoint: impl Into<String>,
        model: impl Into<String>,
    ) -> EmbeddingClientBuilder {
        EmbeddingClientBuilder {
            endpoint: endpoint.into(),
            model: model.into(),
            api_key: None,
            dimensions: None,
            batch: DEFAULT_BATCH,
            redactor: None,
            batch_timeout: Duration::from_mins(1),
            query_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }
    }

    /// The client for `search.embeddings`, with the key from `unlocked`.
    pub fn from_config(
        config: &EmbeddingsConfig,
        unlocked: &Unlocked,
        redactor: Option<Redactor>,
    ) -> Result<Self> {
        let mut builder = Self::builder(config.endpoint.clone(), config.model.clone())
            .dimensions(config.dimensions);
        if config.api_key.is_some() {
            let key = unlocked.get("search.embeddings.api_key").ok_or_else(|| {
                Error::config(
                    "`search.embeddings.api_key` has no value; set it or unlock the secrets first",
                )
            })?;
            builder = builder.api_key(key.clone());
        }
        if let Some(redactor) = redactor {
            builder = builder.redactor(redactor);
        }
        builder.build()
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn batch_size(&self) -> usize {
        self.batch
    }

    /// Embeds `texts` (one request; keep it to [`batch_size`](Self::batch_size)), in order.
    pub async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        self.call(&self.batch_http, texts, "embeddings.batch", true)
            .await
    }

    /// Embeds one search query: one attempt, short timeout.
    pub async fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        let mut vectors = self
            .call(
                &self.query_http,
                std::slice::from_ref(&text.to_owned()),
                "embeddings.query",
                false,
            )
            .await?;
        vectors.pop().ok_or_else(|| {
            Error::new(
                ErrorKind::Upstream,
                "the embeddings endpoint returned no vector",
            )
        })
    }

    async fn call(
        &self,
        http: &HttpClient,
        texts: &[String],
        operation: &str,
        idempotent: bool,
    ) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut request = http
            .post(&self.path)
            .operation(operation)
            .json(&EmbedRequest {
                model: &self.model,
                input: texts,
                encoding_format: "float",
                dimensions: self.dimensions,
            });
        if idempotent {
            // The same texts give the same vectors: resending is harmless.
            request = request.idempotent();
        }
        let answer: EmbedAnswer = request.json_response().await?;
        let what = format!("embeddings POST {}", self.path);
        if answer.data.len() != texts.len() {
            return Err(Error::new(
                ErrorKind::Upstream,
                format!(
                    "{what}: {} vectors for {} texts",
                    answer.data.len(),
                    texts.len()
                ),
            ));
        }
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for (position, item) in answer.data.into_iter().enumerate() {
            let at = item.index.unwrap_or(position);
            let Some(slot) = slots.get_mut(at) else {
                return Err(Error::new(
                    ErrorKind::Upstream,
                    format!(
                        "{what}: a vector has index {at}, beyond the {} texts",
                        texts.len()
                    ),
                ));
            };
            *slot = Some(item.embedding);
        }
        let vectors: Vec<Vec<f32>> = slots.into_iter().flatten().collect();
        if vectors.len() != texts.len() {
            return Err(Error::new(
                ErrorKind::Upstream,
                format!("{what}: two vectors have the same index"),
            ));
        }
        let width = vectors.first().map_or(0, Vec::len);
        let wanted = self.dimensions.map(|d| d as usize);
        for vector in &vectors {
            if vector.is_empty()
                || vector.len() != width
                || wanted.is_some_and(|w| w != vector.len())
                || vector.iter().any(|v| !v.is_finite())
            {
                return Err(Error::new(
                    ErrorKind::Upstream,
                    format!(
                        "{what}: the vectors are empty or of unequal length ({} and {width}{})",
                        vector.len(),
                        wanted
                            .map(|w| format!(", {w} configured"))
                            .unwrap_or_default()
                    ),
                ));
            }
        }
        Ok(vectors)
    }
}

/// Progress of [`embed_pending`], after each page of documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedProgress {
    /// Documents looked at so far.
    pub scanned: u64,
    /// Documents embedded so far.
    pub embedded: u64,
}

/// What [`embed_pending`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedOutcome {
    pub scanned: u64,
    pub embedded: u64,
    /// Documents whose vector was current already.
    pub unchanged: u64,
    /// Set when the endpoint failed and the pass stopped early; the next pass resumes.
    pub warning: Option<String>,
}

/// The text embedded for a document: its key, title and the start of its body.
pub(crate) fn embedding_text(doc: &IndexDoc) -> String {
    let mut text = String::with_capacity(doc.title.len() + doc.body.len().min(MAX_TEXT_CHARS) + 16);
    if !doc.key.is_empty() && doc.key != doc.title {
        text.push_str(&doc.key);
        text.push_str(": ");
    }
    text.push_str(&doc.title);
    if !doc.body.is_empty() {
        text.push('\n');
        text.push_str(&doc.body);
    }
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text,
    }
}

fn content_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut out, b| {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Embeds every document whose vector for `client`'s model is missing or stale; see the
/// module docs. Endpoint failures end the pass with a warning, never an error.
///
/// ```no_run
/// # async fn run(store: &dyn qapms_core::store::Store, client: &qapms_core::search::embed::EmbeddingClient) -> qapms_core::Result<()> {
/// use qapms_core::search::embed::embed_pending;
/// let outcome = embed_pending(store, client, &|p| tracing::debug!(?p, "embedding")).await?;
/// if let Some(warning) = &outcome.warning {
///     tracing::warn!("{warning}");
/// }
/// # Ok(()) }
/// ```
pub async fn embed_pending(
    store: &dyn Store,
    client: &EmbeddingClient,
    progress: &(dyn Fn(EmbedProgress) + Send + Sync),
) -> Result<EmbedOutcome> {
    let mut pass = Pass {
        store,
        client,
        outcome: EmbedOutcome::default(),
    };
    let mut pages = DocPages::new(store, PAGE);
    while let Some(docs) = pages.next().await? {
        if !pass.page(docs, progress).await? {
            break;
        }
    }
    Ok(pass.outcome)
}

struct Pass<'a> {
    store: &'a dyn Store,
    client: &'a EmbeddingClient,
    outcome: EmbedOutcome,
}

impl Pass<'_> {
    /// Embeds what is stale in one page; `false` when the endpoint failed and the pass stops.
    async fn page(
        &mut self,
        docs: Vec<IndexDoc>,
        progress: &(dyn Fn(EmbedProgress) + Send + Sync),
    ) -> Result<bool> {
        if docs.is_empty() {
            return Ok(true);
        }
        let model = self.client.model();
        let uids: Vec<String> = docs.iter().map(|d| d.uid.clone()).collect();
        let stored: HashMap<String, String> = self.store.embedding_hashes(model, &uids).await?;
        let mut stale: Vec<(String, String, String)> = Vec::new();
        for doc in &docs {
            let text = embedding_text(doc);
            let hash = content_hash(&text);
            if stored.get(&doc.uid) == Some(&hash) {
                self.outcome.unchanged += 1;
            } else {
                stale.push((doc.uid.clone(), hash, text));
            }
        }
        self.outcome.scanned += docs.len() as u64;
        for batch in stale.chunks(self.client.batch_size()) {
            let texts: Vec<String> = batch.iter().map(|(_, _, t)| t.clone()).collect();
            let vectors = match self.client.embed(&texts).await {
                Ok(vectors) => vectors,
                Err(err) => {
                    let warning = format!(
                        "semantic ranking: embedding stopped after {} documents ({}); keyword \
                         search is unaffected, and the next sync resumes",
                        self.outcome.embedded,
                        err.message()
                    );
                    tracing::warn!("{warning}");
                    self.outcome.warning = Some(warning);
                    return Ok(false);
                }
            };
            let rows: Vec<EmbeddingRow> = batch
                .iter()
                .zip(vectors)
                .map(|((uid, hash, _), vector)| EmbeddingRow {
                    uid: uid.clone(),
                    content_hash: hash.clone(),
                    vector,
                })
                .collect();
            self.store.upsert_embeddings(model, &rows).await?;
            self.outcome.embedded += rows.len() as u64;
        }
        progress(EmbedProgress {
            scanned: self.outcome.scanned,
            embedded: self.outcome.embedded,
        });
        Ok(true)
    }
}
