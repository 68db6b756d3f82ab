"""The data-quality gate: a Great Expectations suite over the staged data."""
