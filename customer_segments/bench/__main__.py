"""bin/bench: the pipeline benchmark (customer_segments.bench.pipeline), or with --micro-batch anywhere in the
arguments the micro-batch benchmark (customer_segments.bench.micro_batch), which builds on the pipeline's.

The choice is made here, above both, so that neither imports the other back.
"""

from __future__ import annotations

import sys

from customer_segments.bench import micro_batch, pipeline


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--micro-batch" in argv:
        return micro_batch.main([arg for arg in argv if arg != "--micro-batch"])
    return pipeline.main(argv)


if __name__ == "__main__":
    sys.exit(main())
