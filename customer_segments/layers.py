"""Each dbt layer reads only the layer below: the rule, its exceptions, and the checker.

The layers are staging -> intermediate -> marts (STYLE.md; dbt Labs' "How we
structure our dbt projects"). A node's layer is where its file is:

- a model: the first folder under `models/` or `python_models/`
  (`models/intermediate/quality/int_dq_gate.sql` and
  `python_models/intermediate/quality/int_dq_checks.py` are intermediate);
  a model outside those three folders is itself a violation;
- a source (`sources:` in YAML): `source`, read by staging only;
- a seed (`seeds/`): `seed`, reference data versioned with the code that any
  layer may read (a lookup, not a stage of the flow).

What a layer may read (as dbt-project-evaluator's rules say it):

- staging: sources, seeds, staging (a base model under its staging model);
- intermediate: staging, intermediate, seeds;
- marts: intermediate, marts, seeds.

So no staging -> intermediate/mart, no intermediate -> mart, no mart -> staging,
and no model but staging reads a source.

A read is a dependency in dbt's manifest (`ref`, `source`, `-- depends_on`),
and also a read dbt does not see: a model that reads an earlier build's table
through `adapter.get_relation` (macro `model_relation('<name>')`, or
`identifier='<name>'`) is checked as if it read `<name>`, so hiding a read from
dbt does not hide it from this rule.

Exceptions are listed in EXCEPTIONS below, each with why; an exception that no
longer excuses any read is reported too, so the list cannot go stale.
`check(manifest)` returns the problems; tests/python/test_layers.py runs it on
the manifest of `dbt parse`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PACKAGE = "customer_segments"
LAYERS = ("staging", "intermediate", "marts")
MODEL_ROOTS = ("models", "python_models")

#: reader's layer -> the layers it may read
ALLOWED_READS: dict[str, frozenset[str]] = {
    "staging": frozenset({"source", "seed", "staging"}),
    "intermediate": frozenset({"staging", "intermediate", "seed"}),
    "marts": frozenset({"intermediate", "marts", "seed"}),
}


@dataclass(frozen=True)
class LayerException:
    """`model` may read `reads` (a node's name, or a whole layer) although the layers forbid it."""

    model: str
    reads: str
    reason: str


#: The only reads against the layers, and why. Keep it short: each one is a
#: place where a newcomer cannot trust the folder to say what a model reads.
EXCEPTIONS: tuple[LayerException, ...] = (
    LayerException(
        "quarantined_rows", "staging",
        "Every input's rejected rows, with why: they exist only in staging (intermediate models keep "
        "the usable rows), so the mart collects them there; an intermediate copy per input would "
        "only repeat them.",
    ),
    LayerException(
        "int_erasure_targets", "erasure_log",
        "Skips erasure requests already carried out: it reads source warehouse_state.erasure_log, "
        "the log as earlier builds left it (only the end-of-build purge appends to it), so there is "
        "no staging model to read it through.",
    ),
    LayerException(
        "int_erasure_targets", "identity_person_merges",
        "Every person id an erased person had before a merge: that history is kept only in the mart "
        "identity_person_merges, read as earlier builds left it (adapter.get_relation). A ref would "
        "be a cycle: the mart is built from int_identity_person_ids, which reads int_erasure_targets.",
    ),
    LayerException(
        "int_dq_metrics", "dq_results",
        "events_volume_change compares this build's usable events with the previous build's, which "
        "only dq_results keeps (read as earlier builds left it, through adapter.get_relation). A ref "
        "would be a cycle: dq_results is built from int_dq_checks, which reads int_dq_metrics.",
    ),
)

#: reads of an earlier build's table that dbt does not record (see the module docstring)
_HIDDEN_READ = re.compile(r"""model_relation\(\s*['"](\w+)['"]|identifier\s*=\s*['"](\w+)['"]""")


@dataclass(frozen=True)
class Read:
    """`reader` (a model) reads `read` (a model, source or seed); `hidden` when dbt does not record it."""

    reader: str
    reader_layer: str
    read: str
    read_layer: str
    hidden: bool = False

    def __str__(self) -> str:
        how = " (through adapter.get_relation, not a dbt dependency)" if self.hidden else ""
        return f"{self.reader_layer} model {self.reader} reads {self.read_layer} {self.read}{how}"


def layer_of(node: dict) -> str | None:
    """The layer of a manifest node: staging/intermediate/marts for a model, source, seed; None when unknown."""
    if node.get("resource_type") == "source":
        return "source"
    if node.get("resource_type") == "seed":
        return "seed"
    parts = node.get("original_file_path", "").split("/")
    if len(parts) > 2 and parts[0] in MODEL_ROOTS and parts[1] in LAYERS:
        return parts[1]
    return None


def reads(manifest: dict) -> tuple[list[Read], list[str]]:
    """Every read of every model of this project, and the models that are in no layer folder."""
    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    by_name = {
        node["name"]: node for node in nodes.values()
        if node.get("resource_type") == "model" and node.get("package_name") == PACKAGE
    }
    found, unplaced = [], []
    for node in nodes.values():
        if node.get("resource_type") != "model" or node.get("package_name") != PACKAGE:
            continue
        layer = layer_of(node)
        if layer is None:
            folders = " or ".join(f"{root}/<{'|'.join(LAYERS)}>/" for root in MODEL_ROOTS)
            unplaced.append(f"model {node['name']} ({node.get('original_file_path')}) is in no layer folder ({folders})")
            continue
        for parent_id in node.get("depends_on", {}).get("nodes", []):
            parent = nodes.get(parent_id)
            if parent is not None and parent.get("package_name") == PACKAGE:
                found.append(Read(node["name"], layer, parent["name"], layer_of(parent) or "unplaced"))
        recorded = {read.read for read in found if read.reader == node["name"]}
        for match in _HIDDEN_READ.finditer(node.get("raw_code", "")):
            name = match.group(1) or match.group(2)
            parent = by_name.get(name)
            if parent is not None and name != node["name"] and name not in recorded:
                found.append(Read(node["name"], layer, name, layer_of(parent) or "unplaced", hidden=True))
    return found, unplaced


def _excuses(exception: LayerException, read: Read) -> bool:
    return exception.model == read.reader and exception.reads in (read.read, read.read_layer)


def check(manifest: dict, exceptions: tuple[LayerException, ...] = EXCEPTIONS) -> list[str]:
    """What breaks the layers in `manifest` (a parsed manifest.json): one line per problem, [] when none.

    Problems: a model in no layer folder; a read its layer may not make and no
    exception excuses; an exception that excuses no read any more.
    """
    found, problems = reads(manifest)
    used: set[LayerException] = set()
    for read in sorted(found, key=str):
        if read.read_layer in ALLOWED_READS.get(read.reader_layer, ()):
            continue
        excusing = [exception for exception in exceptions if _excuses(exception, read)]
        used.update(excusing)
        if not excusing:
            problems.append(str(read))
    for exception in exceptions:
        if exception not in used:
            problems.append(f"exception no longer needed: {exception.model} reads {exception.reads} "
                            f"(remove it from customer_segments/layers.py EXCEPTIONS)")
    return problems
