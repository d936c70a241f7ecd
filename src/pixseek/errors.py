"""Errors shared across layers, so the CLI and the API can report them the same way."""


class BackendUnavailable(RuntimeError):
    """A service pixseek was told to use (OpenSearch, Triton) cannot be reached or is not ready."""
