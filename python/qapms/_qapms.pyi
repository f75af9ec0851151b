"""Type stubs for the native module ``qapms._qapms``."""

from typing import final

__all__ = [
    "AuthError",
    "ConfigError",
    "ConflictError",
    "Diagnostic",
    "InvalidInputError",
    "NotFoundError",
    "QapmsError",
    "RateLimitedError",
    "SecretError",
    "StoreError",
    "UpstreamError",
    "__version__",
    "check_config",
    "config_schema",
    "run_cli",
]

__version__: str

class QapmsError(Exception):
    """Base class of every error raised by qapms."""

    code: str

class ConfigError(QapmsError):
    """The configuration is not valid.

    ``path``, ``line`` and ``column`` locate the first error; ``diagnostics`` lists them all.
    They are ``None`` (and empty) when the error has no position, e.g. a missing ``.env``.
    """

    path: str | None
    line: int | None
    column: int | None
    diagnostics: list[Diagnostic]

class SecretError(QapmsError):
    """A secret could not be decrypted, or no master key is available."""

class AuthError(QapmsError):
    """Credentials are missing, wrong or expired."""

class NotFoundError(QapmsError):
    """The requested item does not exist."""

class RateLimitedError(QapmsError):
    """An integration asked us to slow down."""

class UpstreamError(QapmsError):
    """An integration answered with an error."""

class StoreError(QapmsError):
    """The store failed."""

class ConflictError(QapmsError):
    """A concurrent writer changed the item first."""

class InvalidInputError(QapmsError):
    """An argument or imported file is not valid."""

def run_cli(argv: list[str]) -> int:
    """Run the ``qapms`` command line with ``argv`` (program name first); return the exit code."""

@final
class Diagnostic:
    """One finding of the config validator, with 1-based positions."""

    @property
    def severity(self) -> str: ...
    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def end_line(self) -> int: ...
    @property
    def end_column(self) -> int: ...
    @property
    def key_path(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def suggestion(self) -> str | None: ...

def check_config(path: str | None = None, profile: str | None = None) -> list[Diagnostic]:
    """Validate qapms.yaml; return its warnings, or raise ConfigError listing every error."""

def config_schema() -> str:
    """The JSON Schema of qapms.yaml as a JSON string."""
