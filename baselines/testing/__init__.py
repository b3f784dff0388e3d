"""Builders of tiny random models for tests and the manifests' ``smoke:`` hooks (no downloads)."""
