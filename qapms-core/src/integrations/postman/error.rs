//! Postman-specific error wording on top of the HTTP layer's typed mapping.
//!
//! The HTTP layer already turns statuses into kinds. What it cannot know is what Postman's
//! answers mean for the user: a 401 is nearly always a revoked or mistyped `PMAK-` key, a 404
//! on a collection often means an id from another workspace or a uid typed without its owner
//! prefix, and a 429 may be the list-endpoint limit rather than the per-minute one.

use crate::integrations::with_hint;
use crate::{Error, ErrorKind};

/// Adds Postman's meaning to errors the generic mapping cannot explain.
pub(crate) fn explain(err: Error) -> Error {
    let status = err.context_value("status").map(str::to_owned);
    let hint = match (err.kind(), status.as_deref()) {
        (ErrorKind::Unauthorized, Some("401")) => {
            "check integrations.postman.api_key: create a key under Postman → Settings → API keys"
        }
        (ErrorKind::Unauthorized, Some("403")) => {
            "the key's user lacks access to this workspace or element; ask its owner to share it"
        }
        (ErrorKind::NotFound, _) => {
            "check the id, or use the uid (`owner-id`) shown by `collections().list()`, and that \
             the key's user can see the workspace"
        }
        (ErrorKind::RateLimited, _) => {
            "Postman allows 300 calls a minute per key and 10 per 10 s on list endpoints; \
             lower integrations.postman.rate_limit or retry later"
        }
        _ => return err,
    };
    with_hint(&err, hint)
}
