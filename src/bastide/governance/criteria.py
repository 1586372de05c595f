"""What the access body weighs before a permit (GOV-06): the eight criteria of EHDS Art. 68(1)
and the two risks of Art. 68(2). Each is recorded before a decision; a permit is issued only
when every criterion is met and both risks are mitigated, and refused otherwise (Art. 68(3)).

The words a person reads are summaries kept in the catalogues (`criterion_<key>`); the Official
Journal's text (Regulation (EU) 2025/327, CELEX 32025R0327) is the authority, linked beside them.
The Art. 70 templates (due 26 March 2027) may reshape this list: it is data, not code paths.
"""

from __future__ import annotations

from bastide.errors import InvalidInput, not_among

LEGAL_TEXT = "https://eur-lex.europa.eu/eli/reg/2025/327/oj"

# criterion -> the fields of the application (Art. 67(2)) that evidence it, shown beside it on
# the decision screen so the instructor weighs the criterion against what was asked.
CRITERIA: dict[str, tuple[str, ...]] = {
    "a": ("purpose", "use"),  # the purpose is one of Art. 53(1)
    "b": ("data", "duration_months", "access_period"),  # necessary, adequate, proportionate (Art. 66(1))
    "c": ("pseudonymised", "pseudonymisation_justification", "gdpr_compliance"),  # Art. 66(3) points here
    "d": ("functions", "persons"),  # the applicant is qualified for the use
    "e": ("safeguards", "tools", "brought_datasets"),  # measures against misuse
    "f": ("ethics",),  # the ethics assessment, where national law asks for one
    "g": ("optout_exception",),  # the Art. 71(4) exception, where used
    "h": (),  # every other requirement of the chapter: the whole file
}
# Art. 68(2): risks the body also takes into account; recorded as mitigated (or absent) or not.
RISKS: dict[str, tuple[str, ...]] = {
    "risk_a": ("use", "data"),  # national defence, security, public security and public order
    "risk_b": ("data",),  # confidential data of regulatory authorities' databases
}
ITEMS = (*CRITERIA, *RISKS)


def check_item(item: str) -> None:
    if item not in ITEMS:
        raise not_among("criterion", ITEMS)  # Art. 68(1) a–h, then the Art. 68(2) risks


def check_decidable(assessment: dict) -> None:
    """A permit needs every item recorded (GOV-06) and every one favourable (Art. 68(3))."""
    missing = [item for item in ITEMS if item not in assessment]
    if missing:
        raise InvalidInput(f"record the Art. 68(1) criteria and Art. 68(2) risks {', '.join(missing)} before deciding "
                           "(GOV-06)", details={"missing": missing}, code="assessment_incomplete")
    against = [item for item in ITEMS if not assessment[item].get("met")]
    if against:
        raise InvalidInput(f"{', '.join(against)} recorded as not met or not mitigated: a permit is only issued when "
                           "every criterion is met and the risks are mitigated; refuse it with its justification "
                           "(Art. 68(3))", details={"against": against}, code="assessment_unfavourable")
