"""bin/bench: the pipeline benchmark (customer_segments.bench.pipeline), or with --micro-batch anywhere in the
arguments the micro-batch benchmark (customer_segments.bench.micro_batch), which builds on the pipeline's, or
with --engine spark the same data on DuckDB and Spark side by side (customer_segments.bench.spark).

The choice is made here, above both, so that neither imports the other back.
"""

from __future__ import annotations

import sys

from customer_segments.bench import micro_batch, pipeline, spark


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    for index, argument in enumerate(argv):
        engine = argument.split("=", 1)[1] if argument.startswith("--engine=") else (
            argv[index + 1] if argument == "--engine" and index + 1 < len(argv) else None)
        if engine is not None:
            rest = argv[:index] + argv[index + (1 if "=" in argument else 2):]
            if engine == "spark":
                return spark.main(rest)
            if engine != "duckdb":
                print(f"bench: --engine is duckdb (default) or spark, not {engine!r}", file=sys.stderr)
                return 2
            argv = rest
            break
    if "--micro-batch" in argv:
        return micro_batch.main([arg for arg in argv if arg != "--micro-batch"])
    return pipeline.main(argv)


if __name__ == "__main__":
    sys.exit(main())
