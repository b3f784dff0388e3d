"""Test helpers that ship with the package (tiny random models built from configs, no download)."""
