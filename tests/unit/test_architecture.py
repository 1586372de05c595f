"""The layers hold (issue 18, item 12): import-linter checks the contracts of pyproject.toml
([tool.importlinter]) over the whole import graph, lazy imports included — domains never import
the HTTP layers (api, web, gate, server), the API and the pages never import each other (both
stand on bastide.gate; bastide.server mounts them), the catalogue never the base, workspaces never
the airlock (its known break listed there, to remove). A new break fails here."""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).parents[2]


def test_the_import_contracts_hold(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0


def test_each_known_break_is_still_a_break():
    """An ignored import that no longer exists is a mended break: strike it from the list, so
    the list only ever shrinks (import-linter would otherwise keep silently allowing it back)."""
    import tomllib

    from grimp import build_graph

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    graph = build_graph("bastide")
    for contract in config["contracts"]:
        for line in contract.get("ignore_imports", []):
            importer, imported = (part.strip() for part in line.split("#")[0].split("->"))
            assert graph.direct_import_exists(importer=importer, imported=imported), f"{line}: mended, strike it"
