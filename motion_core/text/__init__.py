"""The sentence encoder (all-MiniLM-L6-v2 in numpy), shared by the motion models and the pattern banks."""
