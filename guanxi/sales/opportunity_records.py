"""Placeholder: the record type is declared here by the helper that owns this file."""
