"""Type stubs for the native module ``qapms._qapms``."""

__version__: str

class QapmsError(Exception):
    """Base class of every error raised by qapms."""

    code: str

class ConfigError(QapmsError):
    """The configuration is not valid."""

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
