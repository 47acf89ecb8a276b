"""A contract type for import-linter: no import cycles between the modules of the product.

import-linter's built-in `acyclic_siblings` forbids cycles between *packages* (the children of a
package, their descendants squashed together); this one forbids cycles between *modules*: no
module may reach itself by following imports, counting every import grimp finds (at module load,
inside functions and under `TYPE_CHECKING`). `make lint` runs it through `lint-imports`, which
puts the working directory on `sys.path` so `scripts.import_contracts` is found.

Configured in `pyproject.toml`:

    [tool.importlinter]
    contract_types = ["acyclic_modules: scripts.import_contracts.AcyclicModulesContract"]

    [[tool.importlinter.contracts]]
    type = "acyclic_modules"
    containers = ["bot", "handlers", "storage", "sandbox"]

A broken contract names each cycle (a strongly connected component of the import graph) with one
closed path through it and the line numbers of each import on that path.
"""

from __future__ import annotations

import itertools
from typing import Any

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def strongly_connected(modules: set[str], imports: dict[str, set[str]]) -> list[list[str]]:
    """The components of more than one module (each a cycle), by Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(modules):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(imports.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in modules:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(imports.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found, key=lambda c: (-len(c), c))


def closed_path(component: list[str], imports: dict[str, set[str]]) -> list[str]:
    """One cycle through the component's first module (a shortest one, by breadth-first search)."""
    members = set(component)
    start = component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for nxt in sorted(imports.get(node, set()) & members):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if nxt not in came_from:
                    came_from[nxt] = node
                    following.append(nxt)
        frontier = following
    return [start, start]  # unreachable for a real component


class AcyclicModulesContract(Contract):
    type_name = "acyclic_modules"

    containers = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        containers: list[str] = list(self.containers)  # type: ignore[call-overload]
        modules = {m for m in graph.modules if any(m == c or m.startswith(c + ".") for c in containers)}
        imports = {m: set(graph.find_modules_directly_imported_by(m)) & modules for m in modules}
        cycles = []
        for component in strongly_connected(modules, imports):
            path = closed_path(component, imports)
            steps: list[dict[str, Any]] = []
            for importer, imported in itertools.pairwise(path):
                details = graph.get_import_details(importer=importer, imported=imported)
                lines = sorted({d["line_number"] for d in details})
                steps.append({"importer": importer, "imported": imported, "lines": lines})
            cycles.append({"modules": component, "path": steps})
        output.verbose_print(verbose, f"{len(modules)} modules, {len(cycles)} cycles.")
        return ContractCheck(kept=not cycles, warnings=None, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        cycles = check.metadata["cycles"]
        output.print_error(f"{len(cycles)} import cycle(s) between modules:")
        output.new_line()
        for cycle in cycles:
            output.print_error(f"{len(cycle['modules'])} modules: {', '.join(cycle['modules'])}")
            for step in cycle["path"]:
                lines = ", ".join(str(n) for n in step["lines"])
                output.print_error(f"  {step['importer']} -> {step['imported']} (l. {lines})")
            output.new_line()
