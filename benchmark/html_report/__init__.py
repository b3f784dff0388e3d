"""`bench report`: a static HTML site of benchmark runs (leaderboard, galleries, comparisons).

- :mod:`benchmark.html_report.runs`: run folders read typed (RunInfo + records), sortable columns;
- :mod:`benchmark.html_report.gallery`: per image the overlays, the scorer's matching and scores;
- :mod:`benchmark.html_report.site`: the pages (:func:`write_report`).

Pictures, page scaffolding and the local CSS/JS are shared with `textureade preview`
(:mod:`textureade.preview.render`).
"""
