"""Benchmark harness for sub-semantic segmentation: datasets, metrics, protocol, runner, leaderboards.

May import ``textureade`` (records, store readers); never imports ``baselines`` at module level:
methods are found through ``manifests/methods/*.yaml`` lazy ``module:Class`` entries.

Where things live (one look):

============================  ==============================================================
a record row (one image)      ``records.py``: ``RecordRow`` owns the columns, arrow types and
                              order; ``RecordRow.build`` is the one constructor; ``read_records``
a run's provenance            ``runinfo.py``: ``RunInfo`` = run.json (identity, given, method,
                              weights, dataset, environment, status), read back typed
the run config                ``runconfig.py``: ``RunConfig``, CLI > YAML > defaults
                              (``resolve_run_config``), saved in run.json
journal and records.parquet   ``journal.py``: ``Journal`` (fsynced JSONL), ``finalize``
`bench run` / `bench score`   ``runner.py`` (``run``, ``stream_records``) / ``score.py``
leaderboards and reports      ``leaderboard.py`` (typed runs -> table), ``report.py``
weights provenance            ``provenance.py``; the content fingerprint is
                              ``textureade.fingerprint.weights_fingerprint``
============================  ==============================================================
"""

__version__ = "0.1.0"
