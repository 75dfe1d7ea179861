"""Proxima: a hybrid voice assistant reference application.

This package is the ``proxima`` command and its tools (replay, benchmarks,
trace reports), on top of the two sides: the edge process in ``device`` and
the gRPC tiers in ``regional``. Both stand on the shared kernel ``common``,
which stands on the wire contract in ``protos``. See ``docs/architecture.md``.
"""

from common import __version__

__all__ = ["__version__"]
