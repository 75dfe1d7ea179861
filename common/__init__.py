"""Proxima's shared kernel: what the device and the tiers both need.

Audio format helpers, the uplink codec, Whisper loading, the intent
recogniser and the home model, the trace model, TLS and tokens, and the
contract's Python side (``common.contract``). It imports only ``protos``
and libraries, never ``device``, ``regional`` or the ``proxima`` command
(``tests/test_layers.py`` checks it). See ``docs/architecture.md``.
"""

__version__ = "0.1.0"
