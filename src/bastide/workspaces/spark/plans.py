"""Every node of a researcher query's plan, checked against what a query may contain (issue 13).

Spark's `read_only` looked only at the top of the parsed plan, so `SELECT * FROM (SELECT
TRANSFORM(x) USING 'id' …)` — a Project over a ScriptTransformation — ran a shell command as
the server's user. Defence in depth beside the sandbox: the analysed plan (views expanded,
functions resolved, subqueries included) is serialised by Spark itself (`TreeNode.toJSON`) and
every node is checked here: a logical operator must be one a query is made of; an expression
must not call code by name (reflection, UDFs, object invocation, scripts); anything else, or a
plan Spark cannot serialise, is refused."""

from __future__ import annotations

import json
import re

LOGICAL = "org.apache.spark.sql.catalyst.plans.logical."
EXPRESSIONS = "org.apache.spark.sql.catalyst.expressions."
RELATIONS = {"org.apache.spark.sql.execution.datasources.LogicalRelation",  # the extract's Parquet views
             "org.apache.spark.sql.execution.LogicalRDD",  # a small table the platform registered
             "org.apache.spark.sql.execution.columnar.InMemoryRelation"}  # a cached one
# the logical operators of queries: what SELECT … FROM … JOIN … WHERE … GROUP BY … WINDOW … ORDER BY
# … LIMIT, set operations, CTEs, VALUES, range(), TABLESAMPLE, LATERAL VIEW and hints are made of
QUERY_NODES = frozenset({
    "Project", "Filter", "Aggregate", "Join", "Union", "Intersect", "Except", "Sort", "GlobalLimit", "LocalLimit",
    "Offset", "Distinct", "Deduplicate", "SubqueryAlias", "View", "Window", "WithWindowDefinition", "Generate",
    "Sample", "Expand", "OneRowRelation", "LocalRelation", "Range", "WithCTE", "CTERelationDef", "CTERelationRef",
    "Tail", "RepartitionByExpression", "Repartition", "ResolvedHint", "Pivot", "Unpivot", "UnionLoop",
    "UnionLoopRef", "LateralJoin", "Subquery",
})
# expressions that run code named in the query, or a program
CALLS_CODE = re.compile(r"Reflect|UDF|UDAF|UDTF|Udf|Invoke|NewInstance|Script|JavaMethod")


class PlanRefused(Exception):
    """The plan holds something a workspace query may not; the message names it."""


def nodes(serialised: str) -> list[str]:
    """The class of every tree node (plans and expressions, subqueries included) in Spark's JSON."""
    found: list[str] = []

    def walk(value) -> None:
        if isinstance(value, dict):
            if "class" in value and "num-children" in value:
                found.append(value["class"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(serialised))
    return found


def refusal(node: str) -> str | None:
    """Why this node may not be in a workspace query, or None."""
    name = node.rsplit(".", 1)[-1]
    if node in RELATIONS:
        return None
    if node.startswith(LOGICAL):
        return None if name in QUERY_NODES else f"{name} is not part of a query"
    if node.startswith(EXPRESSIONS):
        if ".objects." in node or CALLS_CODE.search(name):
            return f"{name} runs code named in the query"
        return None
    return f"{name} is not part of a query"


def check(serialised: str) -> None:
    """Refuse (PlanRefused) a plan with any node a workspace query may not contain."""
    for node in nodes(serialised):
        why = refusal(node)
        if why is not None:
            raise PlanRefused(f"this query cannot run in a workspace: {why}")
