"""Proxima: a hybrid voice assistant reference application.

This package holds only what both sides need (audio format helpers, the trace
model) and the ``proxima`` command line. The edge process lives in ``device``,
the gRPC tiers in ``regional``, and the wire contract in ``protos``.
"""

__version__ = "0.1.0"
