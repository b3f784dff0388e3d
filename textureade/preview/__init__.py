"""See a built TextureADE: a static preview site and dataset statistics with measured region quality.

- :mod:`textureade.preview.render`: overlays, thumbnails written once, page scaffolding and the
  local assets (``static/site.css``, ``static/site.js``), shared with `bench report`;
- :mod:`textureade.preview.quality`: region quality by LBP + colour histograms and chi-square;
- :mod:`textureade.preview.stats`: one streaming pass of dataset statistics (`textureade stats`);
- :mod:`textureade.preview.site`: the preview site (`textureade preview`).
"""
