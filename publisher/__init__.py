"""publisher: blog feed in, email digests out."""

__version__ = "0.1.0"
