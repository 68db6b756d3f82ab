"""The identity benchmark's reference: plain connected components of the graph's edges with scipy.

    python -m customer_segments.bench.reference DATABASE [--labels PATH]

Runs in a fresh process (the benchmark starts one per run), so its time and
memory are its own. Timed end to end, as one would write it by hand: open the
DuckDB file read-only, read the endpoints of every edge as strings (type and
value: table EDGE_TABLE, the edges of int_identity_edges with their ends'
identifiers, which the benchmark writes once before the timed runs, since
int_identity_edges holds node ids only), factorize them into integers (Arrow's dictionary_encode), build a sparse matrix and call
scipy.sparse.csgraph.connected_components(directed=False). Prints one JSON
object on stdout.

--labels writes every identifier's component to Parquet after the clock has
stopped (and after peak memory was read), for the benchmark's sanity check.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as components

# the edges as identifier strings, the input the reference starts from (written by bench.identity.write_reference_edges)
EDGE_TABLE = "bench_reference_edges"


def connected_components(database: str, labels_path: str | None = None) -> dict:
    """Time read + factorize + components on the edges in `database`; return counts, times and peak RSS."""
    started = time.perf_counter()
    with duckdb.connect(database, read_only=True) as connection:
        edges = connection.sql(f"select from_type, from_value, to_type, to_value from {EDGE_TABLE}").to_arrow_table()
    read = time.perf_counter()

    # an identifier is its type and value; types hold no ':', so "type:value" is unambiguous
    ends = [pc.binary_join_element_wise(edges[f"{end}_type"], edges[f"{end}_value"], ":") for end in ("from", "to")]
    keys = pa.chunked_array(ends[0].chunks + ends[1].chunks, type=pa.string())
    del edges, ends
    # factorize: Arrow's hash table (what pandas.factorize does for Arrow strings, minus its overhead);
    # on a chunked array every chunk shares one dictionary, so the indices are global codes
    encoded = pc.dictionary_encode(keys)
    identifiers = encoded.chunks[0].dictionary if encoded.num_chunks else pa.array([], pa.string())
    codes = np.concatenate([chunk.indices.to_numpy() for chunk in encoded.chunks]) if encoded.num_chunks else np.empty(0, np.int32)
    factorized = time.perf_counter()

    count = len(identifiers)
    half = codes.size // 2
    graph = coo_matrix((np.ones(half, dtype=np.int8), (codes[:half], codes[half:])), shape=(count, count)).tocsr()
    people, labels = components(graph, directed=False)
    finished = time.perf_counter()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB

    if labels_path:
        table = pa.table({"identifier": identifiers, "label": pa.array(labels)})
        pq.write_table(table, labels_path)

    return {
        "edges": half,
        "nodes": count,
        "people": int(people),
        "largest_component": int(np.bincount(labels).max()) if count else 0,
        "seconds": finished - started,
        "read_seconds": read - started,
        "factorize_seconds": factorized - read,
        "components_seconds": finished - factorized,
        "peak_rss_bytes": peak_rss,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m customer_segments.bench.reference", description=__doc__.splitlines()[0])
    parser.add_argument("database", help=f"DuckDB file with table {EDGE_TABLE} (opened read-only)")
    parser.add_argument("--labels", help="write each identifier's component here (Parquet), untimed")
    options = parser.parse_args(argv)
    print(json.dumps(connected_components(options.database, options.labels)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
