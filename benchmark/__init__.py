"""Benchmark harness for sub-semantic segmentation: datasets, metrics, protocol, runner, leaderboards.

May import ``textureade`` (records, store readers); never imports ``baselines`` at module level:
methods are found through ``manifests/methods/*.yaml`` lazy ``module:Class`` entries.
"""

__version__ = "0.1.0"
