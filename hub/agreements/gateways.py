"""The maintained list of legal bases and statutory gateways an agreement may rely on.

Agreements must cite gateways from this list, so an IG officer reads the same wording
everywhere and the linter knows what each gateway does and does not cover.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gateway:
    citation: str
    summary: str
    # Serious Violence Duty disclosures (PCSC Act 2022 s16) expressly do not cover patient
    # information held by health or social care bodies.
    excludes_patient_information: bool = False


GATEWAYS: dict[str, Gateway] = {
    g.citation: g
    for g in (
        Gateway(
            "Crime and Disorder Act 1998 s115",
            "Power to disclose to relevant authorities where necessary for the Act's purposes "
            "(crime and disorder reduction).",
        ),
        Gateway(
            "Crime and Disorder Act 1998 s17",
            "Duty of authorities to consider crime and disorder in all they do.",
        ),
        Gateway("Crime and Disorder Act 1998 s39", "Youth offending teams: functions."),
        Gateway("Children Act 1989 s17", "Services for children in need."),
        Gateway("Children Act 1989 s47", "Local authority's duty to investigate."),
        Gateway("Children Act 2004 s10", "Co-operation to improve the well-being of children."),
        Gateway(
            "Children Act 2004 s11", "Arrangements to safeguard and promote children's welfare."
        ),
        Gateway(
            "Children and Social Work Act 2017 s16E",
            "Local safeguarding arrangements of the safeguarding partners.",
        ),
        Gateway("Care Act 2014 s42", "Enquiry by the local authority into adult abuse or neglect."),
        Gateway("Care Act 2014 s45", "Supply of information to a Safeguarding Adults Board."),
        Gateway(
            "Police, Crime, Sentencing and Courts Act 2022 s16",
            "Serious Violence Duty: disclosure between specified authorities. Does not cover "
            "patient information from health or social care bodies.",
            excludes_patient_information=True,
        ),
        Gateway(
            "Modern Slavery Act 2015 s52", "Duty to notify the Home Office of potential victims."
        ),
        Gateway(
            "Criminal Justice Act 2003 s325",
            "MAPPA: co-operation in assessing and managing risks posed by offenders.",
        ),
        Gateway(
            "Offender Management Act 2007 s14",
            "Disclosure for the purposes of probation and offender management.",
        ),
        Gateway(
            "Fire and Rescue Services Act 2004 s6",
            "Fire safety promotion, including home fire safety visits.",
        ),
        Gateway(
            "Health and Social Care Act 2012 s251B",
            "Duty to share information for an individual's direct care.",
        ),
        Gateway(
            "Common law: public interest disclosure",
            "Disclosure of confidential information justified by an overriding public interest.",
        ),
    )
}

ARTICLE6: dict[str, str] = {
    "6(1)(a)": "consent",
    "6(1)(b)": "contract",
    "6(1)(c)": "legal obligation",
    "6(1)(d)": "vital interests",
    "6(1)(e)": "public task",
    "6(1)(f)": "legitimate interests",
}

ARTICLE9: dict[str, str] = {
    "9(2)(a)": "explicit consent",
    "9(2)(b)": "employment, social security and social protection",
    "9(2)(c)": "vital interests",
    "9(2)(f)": "legal claims",
    "9(2)(g)": "substantial public interest",
    "9(2)(h)": "health or social care",
    "9(2)(i)": "public health",
    "9(2)(j)": "archiving, research and statistics",
}

# Article 9 conditions that need a DPA 2018 Schedule 1 condition alongside.
NEEDS_SCHEDULE1 = frozenset({"9(2)(b)", "9(2)(g)", "9(2)(h)", "9(2)(i)", "9(2)(j)"})


def code_of(text: str) -> str:
    """'6(1)(e) public task' -> '6(1)(e)'."""
    return text.split()[0] if text.strip() else ""
