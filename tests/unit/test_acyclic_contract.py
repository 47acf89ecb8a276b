"""The "no import cycles" contract of `make lint` (scripts/import_contracts.py) finds cycles in plain
graphs and names one closed path through each."""

from scripts.import_contracts import closed_path, strongly_connected


def test_a_graph_without_cycles_has_no_components():
    imports = {"a": {"b"}, "b": {"c"}, "c": set()}
    assert strongly_connected({"a", "b", "c"}, imports) == []


def test_a_pair_importing_each_other_is_a_cycle():
    imports = {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert strongly_connected({"a", "b", "c"}, imports) == [["a", "b"]]


def test_components_are_found_apart_and_largest_first():
    imports = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "x": {"y"}, "y": {"x"}, "z": {"a", "x"}}
    assert strongly_connected(set(imports), imports) == [["a", "b", "c"], ["x", "y"]]


def test_imports_of_modules_outside_the_containers_are_ignored():
    imports = {"a": {"outside"}, "outside": {"a"}}
    assert strongly_connected({"a"}, imports) == []


def test_the_closed_path_is_a_shortest_cycle_through_the_first_module():
    imports = {"a": {"b", "d"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert closed_path(["a", "b", "c", "d"], imports) == ["a", "d", "a"]
