"""Long, low-signal documents (legal boilerplate, history and marketing copy).

They are assembled from sentence banks so retrieval has long chunks that
match many queries weakly and answer none: the chunks a pruning step should drop.
"""

import random
import textwrap
from datetime import date

from loopwright.samples.bank.documents.model import Doc

LEGAL = [
    "This notice is for information and does not modify any agreement between you and Larkspur Bank.",
    "Capitalised terms not defined here have the meanings given in the account agreement.",
    "Where a provision of this notice is held unenforceable, the remaining provisions continue in force.",
    "Larkspur Bank may amend this notice, and the amended notice applies from its stated effective date.",
    "Nothing in this notice waives any right or remedy that Larkspur Bank may have under applicable law.",
    "Headings are for convenience only and do not affect the interpretation of any provision.",
    "References to a law include that law as amended, consolidated or replaced from time to time.",
    "You agree that electronic records satisfy any requirement that a record be in writing.",
    "Our failure to enforce any provision is not a waiver of our right to enforce it later.",
    "This notice is governed by federal law and, to the extent not preempted, the laws of the State of Oregon.",
    "Information may be shared with service providers who are contractually bound to protect it.",
    "We maintain physical, electronic and procedural safeguards that comply with federal standards.",
    "Certain information may be retained for the period required by record-keeping obligations.",
    "You may contact us in writing to exercise any right described in this section.",
    "Requests are processed within the time required by law and may require verification of identity.",
    "The words include and including are to be read as if followed by the words without limitation.",
    "Any notice to you is effective when made available in online banking or sent to the address on file.",
    "Joint account holders each receive the rights described in this section, and a choice by one applies to all.",
]
HISTORY = [
    "Larkspur began in 1921 as a savings cooperative founded by orchard growers in the Alder Creek valley.",
    "Through the decades the bank grew alongside the communities it served, one branch at a time.",
    "Our founders believed that a bank should know its neighbours by name.",
    "In the 1950s Larkspur opened its first drive-up window, a novelty that drew visitors from three counties.",
    "The familiar larkspur flower logo was drawn by a local art student and has changed little since.",
    "Generations of families have opened their first accounts at Larkspur.",
    "Every year our employees volunteer thousands of hours with schools, food banks and river clean-ups.",
    "We have always measured success by the success of the people and businesses we serve.",
    "The 1980s brought automated tellers to every Larkspur branch and, with them, longer days for our customers.",
    "Our first website launched in 1998 with a single page and a phone number.",
    "Today Larkspur serves customers across Oregon, Washington and Northern California.",
    "Whatever the decade, our promise has stayed the same: plain answers and a friendly voice.",
    "Larkspur sponsors the Marion Bay summer regatta and the Cedar Hollow harvest fair.",
    "We are proud of the many awards our branches have earned for community service.",
    "Our scholarship fund has supported local students since 1964.",
    "The bank's archive in Westbrook Falls holds ledgers from its very first year.",
]
LONG_DOCS = [
    ("privacy-notice", "Privacy notice", "Larkspur Legal", LEGAL,
     ["Scope of this notice", "Information we collect", "How we use information", "Sharing",
      "Your choices", "Security", "Retention", "Changes to this notice", "General provisions"]),
    ("electronic-communications-agreement", "Electronic communications agreement", "Larkspur Legal", LEGAL,
     ["Consent to electronic delivery", "Hardware and software requirements", "Withdrawing consent",
      "Updating your contact information", "Paper copies", "Records", "Miscellaneous"]),
    ("larkspur-history", "About Larkspur: our story", "Larkspur Marketing", HISTORY,
     ["Our roots", "Growing with our communities", "A century of service", "Innovation", "Giving back",
      "Looking ahead"]),
]


def _paragraph(rng: random.Random, bank: list[str]) -> str:
    return textwrap.fill(" ".join(rng.sample(bank, rng.randrange(5, 9))), width=80)


def documents(seed: int) -> list[Doc]:
    """The long documents; their prose is a seeded arrangement of the sentence banks."""
    docs = []
    for doc_id, title, source, bank, sections in LONG_DOCS:
        rng = random.Random(f"boilerplate-{seed}-{doc_id}")
        parts = []
        for heading in sections:
            parts.append(f"## {heading}")
            parts.extend(_paragraph(rng, bank) for _ in range(rng.randrange(2, 5)))
        docs.append(Doc(
            id=doc_id,
            title=title,
            effective_date=date(2026, 7, 6),
            source=source,
            body="\n\n".join(parts),
        ))
    return docs
