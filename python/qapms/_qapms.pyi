"""Type stubs for the native module ``qapms._qapms``."""

from collections.abc import Awaitable
from os import PathLike
from pathlib import Path
from types import TracebackType
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
    "StoreInfo",
    "UpstreamError",
    "Workspace",
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

@final
class StoreInfo:
    """What the store reports about itself."""

    @property
    def backend(self) -> str: ...
    @property
    def location(self) -> str: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def tables(self) -> list[tuple[str, int]]: ...

@final
class Workspace:
    """An opened qapms workspace: configuration, credentials and store."""

    @classmethod
    def open(
        cls, config: str | PathLike[str] | None = None, profile: str | None = None
    ) -> Workspace:
        """Find and validate qapms.yaml, decrypt its credentials and open the store."""

    @classmethod
    def async_open(
        cls, config: str | PathLike[str] | None = None, profile: str | None = None
    ) -> Awaitable[Workspace]:
        """``open()`` as an awaitable."""

    @property
    def config_path(self) -> Path | None:
        """The qapms.yaml in use, or None on defaults."""

    @property
    def profile(self) -> str | None:
        """The profile overlay in use."""

    @property
    def credential_paths(self) -> list[str]:
        """Key paths of the configured credentials (never their values)."""

    def store_info(self) -> StoreInfo:
        """Backend, location, schema version and row counts of the store."""

    def async_store_info(self) -> Awaitable[StoreInfo]:
        """``store_info()`` as an awaitable."""

    def close(self) -> None:
        """Close the store's connections."""

    def __enter__(self) -> Workspace: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...
