"""Identity-graph helpers outside dbt: accuracy of the stitched people against a generator's ground truth."""
