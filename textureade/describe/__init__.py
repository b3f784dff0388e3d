"""Region describers: the offline heuristic describer and the transformers VLM describer."""
