"""goci: fast, trustworthy CI for Go repositories."""

__version__ = "0.1.0"
