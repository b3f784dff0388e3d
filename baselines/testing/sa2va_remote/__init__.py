"""Remote-code files of the tiny Sa2VA stand-in; copied into a model folder by ``tiny_sa2va``."""
