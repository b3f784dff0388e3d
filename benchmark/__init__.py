"""Benchmark harness for sub-semantic segmentation: datasets, metrics, protocol, runner, leaderboards.

May import ``textureade`` (records, store readers); never imports ``baselines`` at module level:
methods are found through ``manifests/methods/*.yaml`` lazy ``module:Class`` entries.

Where things live (one look):

============================  ==============================================================
a method's weights check      ``weights.py``: the manifest's ``weights:`` block -> one line
                              saying what to get (``registry.availability`` runs it)
methods, params, manifests    ``registry.py`` (``MethodSpec``, ``build_method``), ``method.py``
suites and protocols          ``suites.py`` (``Suite``: per dataset and method family what a
                              method is given), ``protocol.py`` (K, GT text, score maps ->
                              partition)
datasets                      ``datasets/``: one module per form (``detecture.py``,
                              ``textureade.py``, ``mosaics.py``); ``open_dataset`` in
                              ``__init__``
metrics                       ``metrics/``: pure functions (``score_partition``; the Detecture
                              authors' per-sample scorer in ``metrics/detecture.py``)
one image                     ``evaluate.py``: predict under a deadline, score into a record
a record row (one image)      ``records.py``: ``RecordRow`` owns the columns, arrow types and
                              order; ``RecordRow.build`` is the one constructor; ``read_records``
a run's provenance            ``runinfo.py``: ``RunInfo`` = run.json (identity, given, method,
                              weights, dataset, environment, status), read back typed;
                              ``provenance.py`` fills its weights/environment parts
the run config                ``runconfig.py``: ``RunConfig``, CLI > YAML > defaults
                              (``resolve_run_config``), saved in run.json
journal and records.parquet   ``journal.py``: ``Journal`` (fsynced JSONL), ``finalize``
`bench run` / `bench score`   ``runner.py`` (``run``, ``stream_records``; Ray: ``runner_ray.py``)
                              / ``score.py``; saved predictions: ``predictions.py``
leaderboards, tables, report  ``leaderboard.py``, ``table.py`` (the paper's layout),
                              ``html_report/`` (static site), ``report.py`` (leaderboard CSV/MD/PNG and the `bench list` catalog)
training                      ``training.py`` (the loop behind `bench train`),
                              ``training_recipe.py`` (``load_recipe``), ``training_logs.py``
                              (metrics.csv, eval.csv, TensorBoard, curves.png)
============================  ==============================================================
"""

__version__ = "0.1.0"
