"""Offline check that compiled BigQuery SQL can prune partitions.

BigQuery prunes a partitioned table only when a query filters its partition column with a
constant: a literal, a scripting variable or an expression of those and CURRENT_TIMESTAMP().
A filter on another column (a run stamp), on a subquery's result or inside an OR reads every
partition. This module finds each read of a partitioned table in a statement and says
whether its SELECT (WHERE, or the ON of the join that reads it) carries such a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp


@dataclass(frozen=True)
class TableRead:
    table: str
    alias: str
    pruned: bool


def _conjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    """The AND-ed parts of a condition; an OR is one part (it bounds nothing by itself)."""
    if condition is None:
        return []
    if isinstance(condition, exp.Paren):
        return _conjuncts(condition.this)
    if isinstance(condition, exp.And):
        return _conjuncts(condition.left) + _conjuncts(condition.right)
    return [condition]


def _is_constant(node: exp.Expression) -> bool:
    return not any(isinstance(part, exp.Column | exp.Select | exp.Subquery) for part in node.walk())


def _is_partition_column(node: exp.Expression, columns: set[str], alias: str) -> bool:
    return (
        isinstance(node, exp.Column)
        and node.name.lower() in columns
        and node.table.lower() in ("", alias.lower())
    )


def _bounds(condition: exp.Expression, columns: set[str], alias: str) -> bool:
    """A lower bound (or an equality) of a partition column by a constant, or a constant false."""
    if isinstance(condition, exp.EQ) and _is_constant(condition):
        return True  # `1 = 0`: nothing to read
    if isinstance(condition, exp.GTE | exp.GT | exp.EQ):
        column, bound = condition.left, condition.right
    elif isinstance(condition, exp.LTE | exp.LT):
        bound, column = condition.left, condition.right
    elif isinstance(condition, exp.Between):
        column, bound = condition.this, condition.args["low"]
    else:
        return False
    return _is_partition_column(column, columns, alias) and _is_constant(bound)


def _filters_of(table: exp.Table) -> list[exp.Expression]:
    """The WHERE of the SELECT that reads `table`, plus the ON of the join it is read in."""
    parts: list[exp.Expression] = []
    join = table.find_ancestor(exp.Join)
    if join is not None and join.this is table:
        parts += _conjuncts(join.args.get("on"))
    select = table.find_ancestor(exp.Select)
    if select is not None and select.args.get("where") is not None:
        parts += _conjuncts(select.args["where"].this)
    return parts


def partitioned_reads(sql: str, partitions: dict[str, set[str]]) -> list[TableRead]:
    """Every read in `sql` of a table named in `partitions` (table -> the column names a
    filter may bound: the partition column, or the columns of a view that stand for it)."""
    reads: list[TableRead] = []
    for tree in sqlglot.parse(sql, read="bigquery"):
        if tree is None:
            continue
        for table in tree.find_all(exp.Table):
            columns = partitions.get(table.name.lower())
            if columns is None:
                continue
            alias = table.alias_or_name
            pruned = any(_bounds(part, columns, alias) for part in _filters_of(table))
            reads.append(TableRead(table.name.lower(), alias, pruned))
    return reads
