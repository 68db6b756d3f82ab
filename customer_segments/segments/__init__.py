"""Segment logic that runs in Python: suggested segments from clustering the score features."""
