"""The device: the edge process of Proxima.

Modules follow the data flow of one utterance:
``source`` (mic or files) -> ``wake`` (openWakeWord) -> ``endpoint`` (Silero
VAD) -> ``router`` (policy) -> ``local`` (tiny.en + templates, ``skills``) |
``uplink`` (gRPC to regional, then cloud, then offline) -> ``reply``.
``pipeline`` wires them; ``config`` is the one typed configuration and
``events`` the frozen dataclasses passed between stages.
"""
