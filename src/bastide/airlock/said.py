"""What a disclosure-check finding says, by code (issue 18, item 4): the English text (the API's
`message`, the reports kept with releases) and the code with its values, which the catalogues word
in each language (`finding_<code>`, with the same %(names)s). A finding of an older report, made
before these codes, keeps its English message."""

from __future__ import annotations

from typing import Self

ENGLISH = {
    "no_counts": "no column of counts was found or declared, so cell sizes cannot be checked: add one (n) or "
                 "declare it in the file's .sdc.json",
    "small_count": "the cell ({cell}) counts {count}, fewer than {threshold}: suppress it or group categories",
    "structural_zero": "({cell}) is a declared structural zero",
    "zero": "the cell ({cell}) is zero: it tells that nobody in the group has the attribute; suppress it, or declare "
            "it a structural zero if it is zero by construction",
    "missing_values": "({cell}) counts {count} but {missing} of them have no value: its total rests on {rest}, fewer "
                      "than {threshold}",
    "missing_column": "({cell}) has no value in {column}: say in the description how missing values were handled",
    "lone_suppressed": "({cell}) is the only suppressed cell of its group ({group}): the margin gives it back; "
                       "suppress another cell of that group too",
    "suppress_too": "suppress ({cell}) too, so that the cells suppressed for the threshold cannot be recomputed from "
                    "the margins",
    "no_evidence_columns": "a magnitude table needs each cell's total and its {width} largest contributions (columns "
                           "top1, top2…) to be checked for dominance",
    "dominance_unjudged": "({cell}) is shown without the evidence to judge dominance (its total and largest "
                          "contributions in {evidence}): a person must judge it",
    "dominance_negative": "({cell}) has negative contributions: dominance is not defined, a person must judge it",
    "dominance_zero": "({cell}): every contribution is zero, so each contributor's value is known (p% rule)",
    "dominance_p": "({cell}): the second largest contributor could estimate the largest within {ratio} (p% rule)",
    "dominance_nk": "({cell}): the {n} largest contributors make {share} of the total, at least {k} ((n, k) rule)",
    "same_values": "({cell}): every contribution is {value}, so the cell tells each contributor's value",
    "identifier_name": "column {column} is named as a person or professional identifier: remove it",
    "identifier_value": "column {column} holds {what} (row {row}): remove it",
    "evidence_inside": "the table carries its cells' largest contributions ({columns}): move them to {evidence}, "
                       "which the checks read and which never leaves",
    "counts_as_dimension": "{column} is named as counts but declared a dimension: row {row} counts {count}, fewer "
                           "than {threshold}",
    "one_record_per_row": "{column} is 1 on every row: each row is one record, not a group",
    "row_identifier": "{column} has a different value on {distinct} of {rows} rows: it identifies rows, "
                      "record-level data; group it into categories",
    "microdata": "{file} has {rows} rows for the project's {persons} persons: record-level data, not aggregates",
    "few_dof": "the model has {dof} residual degrees of freedom, fewer than {min_dof}: it may reveal individual values",
    "too_many_rows": "{file} has more than {max_rows} rows: release aggregates, not record-level data",
    "human_review_image": "{file} is an image: no automatic rule covers it, a checker reads it (small counts in labels, "
                          "outliers in plots, identifying details in text)",
    "human_review_text": "{file} is free text: no automatic rule covers it, a checker reads it (small counts in "
                         "labels, outliers in plots, identifying details in text)",
    "differencing": "compared with {other} of {release}, {where} differs by {size} (fewer than {threshold}): "
                    "subtracting one table from the other isolates them",
    "import_identifier": "line {line} holds what looks like a pseudonym or a NIR: personal data cannot be brought in",
    # the gate: what may be checked at all (check._gate)
    "gate_outside": "{file} is a link or leads outside the outputs: only files the workspace wrote leave",
    "gate_not_in_outputs": "{file} is not in the workspace's outputs",
    "gate_not_a_file": "{file} is not a file",
    "gate_evidence": "{file} is for the checks (a table's declaration or evidence): it stays in the workspace",
    "gate_extension": "{extension} files cannot leave: allowed are {allowed}",
    "gate_no_extension": "a file without extension cannot leave: allowed are {allowed}",
    "gate_too_large": "{file} is {size} MiB, more than {max_size} MiB",
    # a table the checks cannot read (tables.UnreadableTable)
    "table_empty": "{file} is empty",
    "table_no_rows": "{file} has a header but no rows: nothing to release",
    "table_nested": "{file}: {columns} hold nested or binary values, which the checks cannot read: write plain "
                    "numbers, text or dates",
    "table_malformed": "{file} is not a well-formed table: {detail}",
    "declaration_not_json": "{file} is not valid JSON: {detail}",
    "declared_column_unknown": "the declared column '{column}' is not in the table (columns: {columns})",
    "cell_not_a_number": "row {row}, column {column} holds \"{text}\", neither a number nor a suppression marker",
    "evidence_lacks": "the evidence file needs the table's dimensions and top1, top2… (lacks {lacks})",
    "evidence_mismatch": "the evidence file does not match its table: it has {stray} cell(s) the table lacks, such "
                         "as ({cell}); write both from the same grouping",
}


class Said(str):
    """A finding's English message that remembers its code and values."""

    code: str
    values: dict[str, str]

    def __new__(cls, code: str, **values) -> Self:
        text = super().__new__(cls, ENGLISH[code].format(**values))
        text.code, text.values = code, {k: str(v) for k, v in values.items()}
        return text

    def __deepcopy__(self, memo) -> Said:  # dataclasses.asdict deep-copies: keep the code
        return self
