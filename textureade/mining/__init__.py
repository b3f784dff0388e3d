"""Mining TextureADE from ADE20K scenes: which images to keep, and their regions by appearance.

One scene goes through ``mine.mine_scene`` (the pipeline calls it per image through
``item.mine_item``): type its classes, score the image, and when the score passes, mine 2-6
regions whose boundaries are texture boundaries. What lives where, in the order the data flows:

- ``class_types``: texture surface / object / ambiguous / ignore for a class name, by keyword
  (``manifests/mining/classes.yaml``).
- ``selection``: the 0..100 texture score of a label map and why an image is kept or dropped
  (``Selection``); boundary and connected-component counting shared with the region miner.
- ``segments``: the initial segments from the annotation (classes; instances and large parts in
  the full form) as a ``SegmentMap`` (code map + lookup table, full-size areas).
- ``regions``: ``mine_regions``, the procedure (its docstring states it step by step): appearance
  descriptors (``textureade.features.pixel_features`` at the working size), merges, splits, then
  the full-size map.
- ``stats``: standardisation, group statistics, Fisher separability J and the 2-means.
- ``groups``: ``Groups``, the working-size union of segments with running statistics; merges and
  splits change it through its methods.
- ``split``: the split test of one group (2-means, valley, J, coherence) -> ``SplitTest``.
- ``finalise``: the full-size region map, areas, class compositions, drops and the keep rules.
- ``types``: the records the stages hand each other: ``MiningSkip`` (the one way to say "no
  sample, because ..."), ``RegionSet``, ``SplitTest``, ``AcceptedSplit``.
- ``detecture_recipe``: the Detecture Miner's ADE20K recipe instead of all of the above
  (``MiningConfig.recipe == "detecture"``, ``textureade build --mining detecture``): its
  texture-priority score, keyword typing by substring and one region per ADE class.
- ``mine``: ``MinedScene`` and ``mine_scene`` (never raises for a skipped image; dispatches on the
  recipe).
- ``item``: one build item from a Scene to a ``MinedItem`` awaiting description, then a Sample or a
  reject line (``ItemResult``).

Imports go one way (class_types/stats/types <- selection/segments <- groups/split/finalise <-
regions <- mine <- item; selection/types/class_types <- detecture_recipe <- mine); ``tests/test_import_graph.py`` fails on any cycle.
Decisions are pinned by ``tests/textureade/test_mining_golden.py``.
"""

from __future__ import annotations

from textureade.mining.mine import MinedScene, mine_scene

__all__ = ["MinedScene", "mine_scene"]
