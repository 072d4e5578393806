"""digest: a static-site generator for literature digests built from paper abstracts."""

__version__ = "0.1.0"
