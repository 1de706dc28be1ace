"""Motion models: the MotionGenerator protocol and front door (generate.py), the registry by kind, each model."""
