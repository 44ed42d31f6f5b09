"""Word lists shared by the entity extraction and the span finder.

Ordinary words that are never names on their own (`STOPWORDS`), titles before names, public
names the name heuristic leaves alone, and the cues that type a name or a profile value.
"""

from __future__ import annotations

STOPWORDS: frozenset[str] = frozenset(
    """
    a an the and or but nor so yet for of in on at to from by with without within about above after
    again against all am any are as be because been before being below between both can could did do
    does doing down during each few further had has have having he her here hers herself him himself
    his how i if into is it its itself just me more most my myself no not now off once only other our
    ours ourselves out over own same she should some such than that their theirs them themselves then
    there these they this those through too under until up very was we were what when where which while
    who whom why will would you your yours yourself yourselves also maybe perhaps please thanks thank
    i'm i've i'll i'd don't doesn't didn't can't won't isn't aren't wasn't it's let's we're we've they're
    you're you've that's there's here's what's who's he's she's
    hi hello hey dear regards best cheers sincerely love warmly kind yes ok okay sure great good nice
    happy sorry welcome congratulations congrats thx ty lol btw fyi asap tbd todo re fw fwd subject cc
    bcc ps etc eg ie vs note notes reminder reminders urgent important personal private confidential
    monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    today tomorrow yesterday tonight morning afternoon evening night noon midnight week weekend weekday
    month year day hour minute spring summer autumn fall winter christmas easter holiday holidays
    new old big small long short high low many much every another since though although however
    therefore still already always never often sometimes usually really quite well back even ever
    first second third last next previous other others same different own whole each either neither
    one two three four five six seven eight nine ten hundred thousand million once twice
    meeting meetings call calls email emails mail message messages text texts chat reply answer question
    questions remember remind buy send ask check book pick bring need needs want wants like likes prefer
    prefers write writes wrote read make makes made get gets got go goes going went come comes came take
    takes took give gives gave tell tells told let see saw seen meet met talk talked schedule scheduled
    plan plans planned project projects work works worked job jobs team teams office home family friend
    friends doctor appointment appointments lunch dinner breakfast coffee birthday party trip travel
    flight flights hotel budget report reports update updates review draft summary agenda deadline
    follow followup follow-up task tasks list item items idea ideas thing things stuff way ways time
    times people person man woman men women kid kids child children baby parents mom dad mother father
    brother sister wife husband partner boss manager colleague colleagues client clients customer
    customers user users assistant system profile name names phone address allergy allergies employer
    company contact contacts document documents chunk chunks context history info information details
    detail data file files folder page pages section sections chapter summary overview background goal
    goals status priority priorities deadline deadlines preferences preference interests hobbies
    hobby likes dislikes diet health medical medication medications diagnosis condition conditions
    today's tomorrow's yesterday's said says say asked asks wrote writes sent sends called calls
    visited visit visits started starts start finished finish done doing working moved lives live
    lived born likes loved loves hates hate enjoys enjoy wants wanted needs needed thinks think thought
    feels feel felt knows know knew keeps keep kept tries try tried uses use used helps help helped
    also however anyway besides meanwhile finally firstly secondly lastly overall additionally
    yes no none nothing something anything everything someone anyone everyone nobody somebody
    here there where everywhere somewhere nowhere
    person number date id org middle part placeholder redacted
    mr mrs ms miss mx dr prof sir madam madame mme mlle herr frau sr sra srta rev
    st ste mt ft pt mum mummy daddy grandma grandpa granny nana
    mondays tuesdays wednesdays thursdays fridays saturdays sundays weekends
    """.split()
)

TITLES: frozenset[str] = frozenset(
    "mr mrs ms miss mx dr prof sir madam madame mme mlle herr frau sr sra srta rev "
    "aunt uncle auntie grandma grandpa cousin captain capt officer judge "
    # roles written before a name ("Recruiter Jenna", "Neighbour Beatriz", "Professor Adebayo")
    "professor recruiter coordinator neighbour neighbor landlord landlady teacher coach tutor dentist surgeon "
    "nurse therapist accountant lawyer attorney coworker co-worker intern director supervisor".split()
)

# Public names that the name heuristic leaves alone (a profile value is still sensitive).
PUBLIC_NAMES: frozenset[str] = frozenset(
    """
    python java javascript typescript rust golang kotlin swift ruby php perl sql html css json yaml markdown
    linux windows macos ios android excel powerpoint outlook gmail google apple microsoft amazon github
    gitlab slack zoom youtube facebook instagram twitter whatsapp linkedin wikipedia chatgpt openai iphone
    ipad internet wifi covid english spanish french german italian portuguese russian chinese japanese
    korean arabic hindi dutch greek latin european american british
    """.split()
)

# What the recognizer never takes for a private name in typed text: languages and nationalities,
# programming languages, file formats and everyday software. Companies and brands are not here
# ("an appeal to Google" says who the user deals with); the user's allow-list adds more.
PUBLIC_TERMS: frozenset[str] = frozenset(
    """
    python java javascript typescript rust golang kotlin swift ruby php perl sql html css json yaml markdown
    csv xml pdf latex regex bash shell powershell docker kubernetes git react django flask numpy pandas
    linux windows macos ios android excel powerpoint word outlook internet wifi covid covid-19 ai
    english spanish french german italian portuguese russian chinese mandarin cantonese japanese korean arabic
    hindi urdu bengali dutch greek latin hebrew turkish persian polish swedish norwegian danish finnish vietnamese
    thai indonesian malay tagalog swahili european american british african asian canadian australian indian
    """.split()
)

NAME_ABBREVIATIONS: frozenset[str] = frozenset({"st", "ste", "mt", "ft", "pt"})

NAME_CONNECTORS: frozenset[str] = frozenset(
    "van von de da del della der den di du la le bin ibn al el ter ten dos das y e".split()
)

ORG_SUFFIXES: frozenset[str] = frozenset(
    """
    inc corp corporation co company llc llp ltd limited plc gmbh ag sa sas bv nv oy ab srl spa kk
    group holdings labs lab technologies technology systems solutions partners associates
    foundation institute university college school academy hospital clinic bank trust agency
    studio studios bakery cafe restaurant society association council ministry department
    elementary primary kindergarten preschool daycare gym pharmacy
    """.split()
)

PLACE_SUFFIXES: frozenset[str] = frozenset(
    """
    park street avenue road lane square bridge station airport beach lake river mountain mount hill
    valley island bay harbor harbour center centre mall market plaza tower building hall church
    """.split()
)

# A name right after these is more likely a place than a person ("in Lisbon", "trip to Porto").
PLACE_CUES: frozenset[str] = frozenset(
    {"in", "at", "near", "via", "visiting", "trip to", "flight to", "fly to", "flying to", "travel to",
     "traveling to", "travelling to", "move to", "moving to", "moved to", "drive to", "driving to"}
)

# "key: value" profile lines: the key's words pick the kind (first match in this order).
KEY_KINDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("EMAIL", frozenset({"email", "e-mail", "mail"})),
    ("PHONE", frozenset({"phone", "mobile", "cell", "tel", "telephone", "fax", "whatsapp", "signal"})),
    ("DATE", frozenset({"birthday", "dob", "birth", "born", "anniversary", "birthdate"})),
    ("ID", frozenset({"id", "ssn", "passport", "license", "licence", "account", "iban", "card", "policy",
                      "member", "membership", "tax", "insurance", "username", "handle", "login", "pin"})),
    ("ADDRESS", frozenset({"address", "street", "home", "city", "town", "location", "zip", "postcode",
                           "postal", "lives", "residence", "neighborhood", "neighbourhood"})),
    ("ORG", frozenset({"employer", "company", "organization", "organisation", "org", "school", "university",
                       "college", "bank", "clinic", "hospital", "workplace", "firm", "team", "department"})),
    ("PERSON", frozenset({"name", "spouse", "partner", "wife", "husband", "child", "children", "son",
                          "daughter", "mother", "father", "mom", "dad", "friend", "colleague", "manager",
                          "boss", "doctor", "contact", "assistant", "sister", "brother", "pet", "dog", "cat",
                          "surname", "firstname", "lastname", "nickname", "landlord", "therapist"})),
)
