"""Templates for the scorer's synthetic personalized-writing tasks (never the benchmark's tasks).

A scenario is a kind of request (an instruction, the note lines that make it answerable,
the facts a good answer must carry, and gold answers that carry them). Filling its
{slots} with random values from POOLS, and adding unrelated note lines, makes a task.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    key: str
    category: str
    instructions: tuple[str, ...]
    notes: tuple[str, ...]  # note lines that hold the facts
    facts: tuple[str, ...]  # slot names whose values a good answer must contain
    golds: tuple[str, ...]  # answers that contain every fact


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")

POOLS: dict[str, tuple[str, ...]] = {
    "person": ("Amelia", "Rahul", "Sofía", "Kenji", "Olufemi", "Marta", "Liam", "Yasmin", "Dmitri",
               "Chloé", "Mateo", "Ingrid", "Wei", "Fatima", "Jonas", "Priyanka", "Tomás", "Hana",
               "Noah", "Leilani", "Björn", "Aisha", "Pavel", "Grace", "Emeka", "Lucía", "Ravi", "Elif"),
    "surname": ("Okonkwo", "Lindgren", "Moreau", "Castillo", "Nakamura", "Kowalski", "Haddad",
                "Brennan", "Sørensen", "Ivanova", "Mehta", "Fitzgerald", "Duarte", "Takahashi",
                "Abernathy", "Novak", "Achterberg", "Quispe", "Oyelaran", "Varga"),
    "time": ("8:30 am", "9:15 am", "10:30 am", "11 am", "1:45 pm", "2 pm", "3:30 pm", "4:45 pm",
             "6:30 pm", "7 pm", "7:45 pm", "8:15 pm"),
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "restaurant": ("Trattoria Vento", "The Copper Pot", "Sakura House", "Casa Lupita", "Blue Fig Bistro",
                   "Little Saigon Kitchen", "Olive & Thyme", "The Salt Shed"),
    "amount": ("$45", "$85", "$120", "$240", "$310", "$75.50", "€60", "€190", "£35", "£150"),
    "company": ("Northwind Plumbing", "Brightline Electric", "Alder & Finch", "Pinecrest Movers",
                "Harbor Glass Co.", "Summit Roofing", "Bluebird Cleaners", "Oakridge Motors"),
    "gym": ("IronWorks Fitness", "Pulse Athletic Club", "Riverbend Gym", "CoreLab Studio"),
    "airline": ("Nordic Air", "SkyMeridian", "Atlas Airways", "Coral Jet"),
    "city": ("Lisbon", "Osaka", "Nairobi", "Montréal", "Kraków", "Tucson", "Bergen", "Valparaíso",
             "Dublin", "Hanoi"),
    "street": ("Maple Lane", "Birch Road", "Harbour Street", "Kestrel Avenue", "Mill Close",
               "Juniper Way", "Quarry Hill"),
    "book": ("The Glass Orchard", "Salt and Silence", "A Map of Small Winds", "The Ninth Lantern",
             "River of Quiet Hours", "Paper Moons"),
    "pet": ("Biscuit", "Luna", "Pepper", "Mochi", "Rocket", "Olive", "Ziggy"),
    "course": ("BIO 214", "ECON 101", "HIST 330", "CS 240", "STAT 210", "PSYC 150"),
    "item": ("blue suitcase", "green backpack", "black duffel bag", "red hard-shell case"),
    "gift": ("a pottery class", "noise-cancelling headphones", "a cast-iron pan", "a star map print",
             "a silk scarf", "a bread-making kit"),
    "project": ("Atlas redesign", "Q2 onboarding guide", "Harbor app beta", "brand refresh",
                "warehouse audit"),
    "allergy": ("peanuts", "shellfish", "eggs", "sesame", "kiwi"),
    "flight": ("NA 318", "SM 1042", "AT 77", "CJ 509"),
    "code": ("4471", "8820", "1936", "5507", "3318", "7264"),
    "symptom": ("limping on the left paw", "not eating much", "scratching a lot", "coughing at night"),
    "reason": ("a family wedding", "a hospital appointment", "my sister's graduation", "moving house"),
}
# dates are made on the fly ("March 14"); these slot names take a date
DATE_SLOTS = ("date", "date2")

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "contractor-reschedule", "email",
        ("Email the contractor to move the repair visit to another day.",
         "Write a short email rescheduling the repair appointment."),
        ("Repair visit booked with {company}, contact {person}", "Need to move it to {date} at {time}"),
        ("company", "person", "date", "time"),
        ("Hi {person},\n\nI have a repair visit booked with {company}, but I need to move it. "
         "Could you come on {date} at {time} instead?\n\nThanks,\n{user}",
         "Dear {person},\n\nWould it be possible to reschedule my {company} repair visit to {date} at {time}? "
         "Sorry for the change.\n\nBest regards,\n{user}"),
    ),
    Scenario(
        "dinner-invite", "message",
        ("Text my friend to invite them to dinner.", "Send a quick message inviting my friend out to eat."),
        ("Best friend: {person}", "Booked a table at {restaurant} for {weekday} at {time}"),
        ("person", "restaurant", "weekday", "time"),
        ("Hey {person}! I booked a table at {restaurant} for {weekday} at {time}. Are you in?",
         "{person}, dinner on {weekday}? I've got us a table at {restaurant} at {time}. Let me know!"),
    ),
    Scenario(
        "professor-deadline", "email",
        ("Email my professor asking for more time on the essay.",
         "Write to my professor to ask about extending the essay deadline."),
        ("Professor {person} {surname} teaches {course}", "Essay due {date}", "Was ill with flu for a week"),
        ("surname", "course", "date"),
        ("Dear Professor {surname},\n\nI am in your {course} class. I was ill with the flu for a week, and I "
         "would like to ask for a few extra days on the essay due {date}.\n\nKind regards,\n{user}",
         "Dear Professor {surname},\n\nBecause of a week of flu I am behind on the {course} essay due {date}. "
         "Could I have a short extension?\n\nThank you,\n{user}"),
    ),
    Scenario(
        "gym-cancel", "letter",
        ("Write a letter cancelling my gym membership.", "Draft a cancellation letter for my gym."),
        ("Gym: {gym}, member no. {code}", "Want the membership to end on {date}"),
        ("gym", "code", "date"),
        ("To {gym},\n\nPlease cancel my membership, member no. {code}, with effect from {date}. "
         "Please confirm in writing.\n\nSincerely,\n{user}",
         "Dear {gym} team,\n\nI am writing to cancel membership {code}. I would like it to end on {date}.\n\n"
         "Regards,\n{user}"),
    ),
    Scenario(
        "sibling-gift", "message",
        ("Message my brother about what to get Mom for her birthday.",
         "Text my brother with a gift idea for Mom."),
        ("Brother: {person}", "Mom's birthday is {date}", "Gift idea for Mom: {gift}, about {amount}"),
        ("person", "gift", "amount", "date"),
        ("Hi {person}, for Mom's birthday on {date} how about {gift}? It's about {amount}, we could split it.",
         "{person}! Idea for Mom on {date}: {gift}. Around {amount} total, want to go halves?"),
    ),
    Scenario(
        "client-delay", "email",
        ("Email the client to tell them the project will be late.",
         "Write a short email to the client about a delay."),
        ("Client contact: {person} {surname}", "Project: {project}", "New delivery date: {date}"),
        ("person", "project", "date"),
        ("Hi {person},\n\nA quick update on the {project}: we need a little more time, and the new delivery "
         "date is {date}. Sorry for the delay.\n\nBest,\n{user}",
         "Dear {person},\n\nI'm sorry to say the {project} will be late. We now expect to deliver on {date}.\n\n"
         "Kind regards,\n{user}"),
    ),
    Scenario(
        "babysitter-note", "note",
        ("Write a note for the babysitter tonight.", "Leave instructions for the babysitter."),
        ("Babysitter: {person}", "Kids: {person2}, bedtime {time}", "{person2} is allergic to {allergy}"),
        ("person2", "time", "allergy"),
        ("Hi {person}! Thanks for tonight. {person2} goes to bed at {time}. Please remember {person2} is "
         "allergic to {allergy}. Call me if anything comes up.",
         "{person}, notes for tonight: bedtime for {person2} is {time}, and no {allergy} please, "
         "{person2} is allergic. Thank you!"),
    ),
    Scenario(
        "lost-bag", "email",
        ("Email the airline about my missing bag.", "Write to the airline to report my lost luggage."),
        ("Flew {airline} flight {flight} to {city} on {date}", "Bag: {item}, never arrived"),
        ("flight", "city", "item"),
        ("Dear {airline},\n\nMy {item} did not arrive after flight {flight} to {city} on {date}. "
         "Please let me know where it is.\n\nThank you,\n{user}",
         "Hello,\n\nI am reporting a lost bag: a {item} checked on flight {flight} to {city}. "
         "It never arrived.\n\nRegards,\n{user}"),
    ),
    Scenario(
        "shift-cover", "message",
        ("Ask a coworker to cover my shift.", "Message a colleague to see if they can take my shift."),
        ("Coworker: {person}", "My shift: {weekday} {date}, {time} start", "Need it off for {reason}"),
        ("person", "date", "reason"),
        ("Hi {person}, could you cover my shift on {weekday} {date} ({time} start)? I have {reason}. "
         "I'm happy to swap for one of yours.",
         "{person}, any chance you could take my {date} shift? It's for {reason}. Thanks a lot!"),
    ),
    Scenario(
        "council-streetlight", "letter",
        ("Write to the council about the broken streetlight.", "Draft a complaint letter to the city council."),
        ("Streetlight out on {street} since {date}", "Reported by phone, reference {code}"),
        ("street", "date", "code"),
        ("Dear Council,\n\nThe streetlight on {street} has been out since {date}. I reported it by phone "
         "(reference {code}) but it is still broken. Please repair it.\n\nYours faithfully,\n{user}",
         "To the City Council,\n\nI am writing again about the broken streetlight on {street}, out since {date}, "
         "reference {code}.\n\nSincerely,\n{user}"),
    ),
    Scenario(
        "bookclub-host", "reply",
        ("Reply to the book club about hosting next month.", "Answer the book club thread about the next meeting."),
        ("Book club: next pick is {book}", "I can host at my place on {date} at {time}"),
        ("book", "date", "time"),
        ("I'd love to host! Come over on {date} at {time} and we'll talk about {book}.",
         "Count me in to host the {book} meeting: my place, {date}, {time}."),
    ),
    Scenario(
        "vet-booking", "email",
        ("Email the vet to book a check-up for my dog.", "Write to the vet clinic to make an appointment."),
        ("Dog: {pet}", "Vet: Dr. {surname}", "{pet} has been {symptom}"),
        ("pet", "surname", "symptom"),
        ("Dear Dr. {surname},\n\nI'd like to book a check-up for {pet}, who has been {symptom}. "
         "When is your next free slot?\n\nThanks,\n{user}",
         "Hello Dr. {surname},\n\n{pet} has been {symptom} lately. Could we come in for a check-up this week?\n\n"
         "Best,\n{user}"),
    ),
    Scenario(
        "car-service", "reminder",
        ("Write myself a reminder about the car service.", "Make a reminder for the car appointment."),
        ("Car service at {company} on {date} at {time}", "Quote was {amount}"),
        ("company", "date", "time", "amount"),
        ("Reminder: car service at {company} on {date} at {time}. The quote was {amount}.",
         "Don't forget: {company}, {date}, {time}, car service (quoted {amount})."),
    ),
    Scenario(
        "neighbor-ladder", "reply",
        ("Reply to my neighbor who asked to borrow the ladder.", "Answer my neighbor's question about the ladder."),
        ("Neighbor: {person} at number {code2}", "Ladder is free until {weekday}"),
        ("person", "weekday"),
        ("Hi {person}, of course! Take the ladder whenever you like, just bring it back by {weekday}.",
         "No problem, {person}. The ladder is yours until {weekday}."),
    ),
    Scenario(
        "rent-reminder", "reminder",
        ("Set a reminder about paying rent.", "Write a reminder to myself to pay the rent."),
        ("Rent: {amount} to {person} {surname}", "Due on {date}"),
        ("amount", "date"),
        ("Reminder: pay rent of {amount} to {person} {surname} by {date}.",
         "Pay the rent ({amount}) on {date}."),
    ),
    Scenario(
        "thank-you-host", "note",
        ("Write a thank-you note to my friend who hosted me.", "Draft a short thank-you card."),
        ("Stayed with {person} in {city} last week", "They made {dish} for dinner"),
        ("person", "city", "dish"),
        ("Dear {person},\n\nThank you so much for having me in {city}. The {dish} was wonderful. "
         "I hope to return the favour soon!\n\nLove,\n{user}",
         "{person}, thanks for a lovely week in {city} and for that amazing {dish}!"),
    ),
)

POOLS["dish"] = ("mushroom risotto", "lamb tagine", "pad thai", "pierogi", "shakshuka", "paella")
POOLS["code2"] = ("12", "7", "41", "3", "28")

# Unrelated note lines: a task's notes mix the needed lines with some of these.
DISTRACTORS: tuple[str, ...] = (
    "Dentist check-up on {date}",
    "Phone: +1 555 01{code}",
    "Car insurance renews {date}",
    "Library books go back by {weekday}",
    "Yoga class Thursdays at {time}",
    "Cousin {person} moving to {city} in the spring",
    "Spent {amount} on groceries this week",
    "Wi-Fi password: maple{code}",
    "Plant-sitting for {person} until {date}",
    "Passport expires {date}",
    "Running club meets {weekday} mornings",
    "Owe {person} {amount} for concert tickets",
)
