"""Pattern memory (visual and semantic banks), damage simulation and symbol binding: see README.md here."""
