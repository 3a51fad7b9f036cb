"""What the fail-closed layer may keep: common English words and a few safe capitalised terms.

These are keep-lists, never name lists: the redactor holds no gazetteer of names, so the
corpus that measures it cannot leak into it (tests/privacy/corpus). A word missing here is
removed; a word wrongly present here can leak, so the lists stay short and reviewed.

``data/common_words.txt`` is every lower-case, purely alphabetic entry of Debian's
``wbritish`` word list (SCOWL, see data/SCOWL-COPYRIGHT.txt). Lower-case entries are common
words; proper nouns are capitalised there and so are absent. Regenerate with
``python -m hub.privacy.redaction.words /usr/share/dict/british-english``.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


def words(text: str) -> list[str]:
    """A word list written as one string (easier to read and review than a list literal)."""
    return text.split()


@cache
def common_words() -> frozenset[str]:
    """Read once per process, on first use (importing hub reads nothing)."""
    text = (DATA / "common_words.txt").read_text(encoding="utf-8")
    return frozenset(text.split())


# Function words and pronouns: kept even at the start of a sentence.
FUNCTION_WORDS = frozenset(
    words("""a an the this that these those there here it its he him his she her hers they them
    their theirs we us our you your i me my mine who whom whose which what when where why how
    and or but nor so yet if then than as at by for from in into of off on onto out over to
    up upon with within without about above after against along among around before behind
    below beneath beside between beyond during except inside near past since through
    throughout till toward towards under until via is are was were be been being am has have
    had do does did not no yes all any both each either every few many more most much neither
    none other others several some such another also again already always ever never often
    once only just still very too later earlier today yesterday tonight tomorrow now then
    however although though because while whilst whether unless whereas nothing something
    anything everything nobody somebody anybody everybody someone anyone everyone""")
)

# Nouns for people's roles: "the officer said" names nobody.
ROLE_WORDS = frozenset(
    words("""officer officers police staff teacher teachers worker workers manager social
    nurse doctor gp paramedic paramedics ambulance neighbour neighbours mother father mum
    dad parent parents carer carers child children boy boys girl girls man men woman women
    person people victim victims subject suspect suspects male female adult adults youth
    youths friend friends family relative relatives sibling siblings brother sister
    brothers sisters son daughter grandmother grandfather nan grandad uncle aunt cousin
    partner boyfriend girlfriend husband wife ex boss employer landlord caller informant
    referrer school college hospital council team network responder security guard
    driver member members group gang""")
)

# Words that point at a person's name next: "his boss Quentin", "known as jj".
PERSON_CUES = frozenset(
    words("""mr mrs ms miss mx dr pc dc ds di sgt sergeant constable inspector det
    boss employer manager landlord landlady friend friends mate mates partner boyfriend
    girlfriend husband wife ex brother sister cousin uncle aunt auntie nephew niece
    grandmother grandfather nan nana gran grandad stepfather stepmother stepdad stepmum
    mother father mum dad son daughter child baby neighbour colleague associate
    associates victim suspect nominal nominals called named nicknamed aka alias known""")
)
NAMING_CUES = frozenset({"called", "named", "nicknamed", "aka", "alias", "as"})
# "spoke to ...", "stays with ...": the next words are a person unless they are determined.
CONTACT_VERBS = frozenset(
    words("""spoke speak speaks spoken talked talk talks stay stays stayed staying live lives lived
    living seen met meet meets went go goes going sleeps slept texted messaged""")
)

# Verbs whose subject is usually a person: "hope smith said", "Frank drives".
PERSON_VERBS = frozenset(
    words("""say said says tell told tells state stated states report reported reports disclose
    disclosed discloses allege alleged alleges explain explained claim claimed claims deny
    denied denies admit admitted admits add added confirm confirmed describe described
    mention mentioned threaten threatened threatens hit hits punched kicked assaulted
    drives drove lives lived works worked runs ran keeps kept took takes made makes
    forced forces controls controlled collects collected arranged arranges""")
)

# Capitalised words that are safe to keep wherever they stand, matched as written. Months
# are not here: April, May, June and August are names too (dates are removed anyway).
SAFE_CAPITALISED = frozenset(
    words("""I Monday Tuesday Wednesday Thursday Friday Saturday Sunday Christmas Easter
    Police Merseyside Liverpool Knowsley Sefton Wirral Helens St Council Borough City
    Hospital Hospitals NHS MASH NRM MSN VRP IOM YJS GP GPs A&E CID PNC UK England English
    Britain British Scotland Wales Ireland Europe EU Home Office Social Care Services
    Children Children's Adult Adults Safeguarding Hub Youth Justice Service Probation Fire
    Rescue Ambulance Court Crown Magistrates Modern Slavery Network Referral Mechanism
    National Duty Notify Integrated Offender Management Violence Reduction Partnership
    Emergency Department School Primary Secondary High Academy College University
    Albanian Romanian Vietnamese Polish Chinese Eritrean Sudanese Iranian Iraqi Afghan
    Nigerian Ghanaian Indian Pakistani Bangladeshi Lithuanian Latvian Slovak Czech
    Hungarian Bulgarian Ukrainian Russian Syrian Kurdish Turkish Somali Ethiopian
    Muslim Islam Jewish Hindu Sikh Catholic Protestant Snapchat WhatsApp
    Instagram Facebook TikTok Telegram Google Amazon Uber DNA ASB CSE CCE DA DASH MARAC
    CPS CAMHS SEN EHCP MP OK TV CCTV ID""")
)
SAFE_LOWER = frozenset(
    words("""aka dob etc approx yo yrs hrs mins cctv gp gps asb cse cce marac camhs ok tv id
    mum mums nan grandad telly innit phone phones online whatsapp snapchat instagram
    facebook tiktok uber app apps texted texting am pm st nd rd th mph kg km hr hrs min
    ft cm mm mg ml yo""")
)


def _build(source: str) -> None:
    """Regenerate data/common_words.txt from a SCOWL word list (e.g. Debian's wbritish)."""
    words = Path(source).read_text(encoding="utf-8").split()
    keep = sorted({w for w in words if w.isalpha() and w.islower()})
    (DATA / "common_words.txt").write_text("\n".join(keep) + "\n", encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover - a maintenance script
    _build(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/dict/british-english")
