"""The regional tier: a gRPC service with larger ASR and NLU (also serves the cloud tier)."""
