"""Rigs: BVH read/write, bone maps, axis conventions, retargeting to and from the canonical Motion, built-in rigs."""
