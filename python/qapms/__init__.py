"""qapms: a QA companion SDK.

The work happens in a Rust core (``qapms._qapms``); this package is its typed Python face.
Every error qapms raises derives from :class:`QapmsError`.
"""

from qapms._qapms import (
    AuthError,
    ConfigError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    QapmsError,
    RateLimitedError,
    SecretError,
    StoreError,
    UpstreamError,
    __version__,
)

__all__ = [
    "AuthError",
    "ConfigError",
    "ConflictError",
    "InvalidInputError",
    "NotFoundError",
    "QapmsError",
    "RateLimitedError",
    "SecretError",
    "StoreError",
    "UpstreamError",
    "__version__",
]
