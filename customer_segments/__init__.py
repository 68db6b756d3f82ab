"""customer_segments: behavioral customer and account segments from first-party data, built with dbt."""
