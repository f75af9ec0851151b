"""The Python package and its native module."""

import qapms
from qapms import _qapms


def test_version_is_exposed() -> None:
    assert qapms.__version__.count(".") == 2


def test_exception_hierarchy_roots_at_qapms_error() -> None:
    for name in (
        "ConfigError",
        "SecretError",
        "AuthError",
        "NotFoundError",
        "RateLimitedError",
        "UpstreamError",
        "StoreError",
        "ConflictError",
        "InvalidInputError",
    ):
        cls = getattr(qapms, name)
        assert issubclass(cls, qapms.QapmsError), name
        assert issubclass(cls, Exception)
        assert getattr(_qapms, name) is cls
