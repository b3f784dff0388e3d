"""Mining TextureADE from ADE20K scenes: class typing, image selection, regions by appearance.

``mine_scene`` runs the three stages on one Scene; the pipeline calls it per image.
"""

from __future__ import annotations

from textureade.mining.mine import MinedScene, mine_scene

__all__ = ["MinedScene", "mine_scene"]
