"""The whole-tree check of a Spark query's plan (workspaces/spark/plans.py, issue 13): the JSON
below has the shape `TreeNode.toJSON` gives (nodes in pre-order, each with its class and number
of children, expressions nested in its fields); the Spark tests run it on real plans."""

from __future__ import annotations

import json

import pytest

from bastide.workspaces.spark import plans

L, E = "org.apache.spark.sql.catalyst.plans.logical.", "org.apache.spark.sql.catalyst.expressions."


def node(cls: str, children: int = 0, **fields) -> dict:
    return {"class": cls, "num-children": children, **fields}


def plan(*nodes: dict) -> str:
    return json.dumps(list(nodes))


def attr(name: str) -> list:
    return [node(E + "AttributeReference", name=name, dataType="integer")]


QUERY = plan(node(L + "Project", 1, projectList=[attr("a")]),
             node(L + "Filter", 1, condition=[node(E + "GreaterThan", 2, left=0, right=1), *attr("a"),
                                               node(E + "Literal", value="1")]),
             node(L + "SubqueryAlias", 1), node(L + "View", 1),
             node("org.apache.spark.sql.execution.datasources.LogicalRelation", output=[attr("a")]))


def test_a_query_of_relations_filters_and_projections_passes():
    plans.check(QUERY)
    assert plans.nodes(QUERY)[:2] == [L + "Project", E + "AttributeReference"]


@pytest.mark.parametrize("cls, said", [
    (L + "ScriptTransformation", "ScriptTransformation is not part of a query"),
    (L + "InsertIntoStatement", "InsertIntoStatement is not part of a query"),
    ("org.apache.spark.sql.execution.command.CreateFunctionCommand", "CreateFunctionCommand is not part of a query"),
    ("org.apache.spark.sql.execution.datasources.CreateTempViewUsing", "CreateTempViewUsing is not part of a query"),
])
def test_an_operator_that_is_no_part_of_a_query_is_refused_at_any_depth(cls, said):
    hidden = plan(node(L + "Project", 1, projectList=[attr("a")]), node(L + "SubqueryAlias", 1), node(cls))
    with pytest.raises(plans.PlanRefused, match=said):
        plans.check(hidden)


@pytest.mark.parametrize("expression", ["CallMethodViaReflection", "TryReflect", "ScalaUDF", "PythonUDF",
                                        "objects.StaticInvoke", "objects.Invoke", "objects.NewInstance"])
def test_an_expression_that_runs_code_is_refused_even_inside_a_subquery(expression):
    subquery = node(E + "ScalarSubquery", plan=[node(L + "Project", 1, projectList=[[node(E + expression)]]),
                                                node(L + "OneRowRelation")])
    hidden = plan(node(L + "Filter", 1, condition=[node(E + "In", 2), *attr("a"), subquery]), node(L + "OneRowRelation"))
    with pytest.raises(plans.PlanRefused, match="runs code named in the query"):
        plans.check(hidden)


def test_objects_that_are_not_tree_nodes_are_not_judged():
    typed = plan(node(L + "Project", 1, projectList=[attr("a")], joinType={"class": "some.Other.Thing"}),
                 node(L + "OneRowRelation"))
    plans.check(typed)
