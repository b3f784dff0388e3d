"""Methods: one file per family, each implementing ``benchmark.method.Method``.

Each is declared in ``manifests/methods/<name>.yaml``; the harness imports them lazily from there.
"""
