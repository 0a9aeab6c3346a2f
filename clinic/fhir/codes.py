"""Code systems, codes and value mappings the FHIR API uses (DOMAIN.md §4.2, §7, §10).

Standard systems are named by their canonical URIs. Where no standard code is confirmed
(MOAA/S, CADSS, instruments without a LOINC total, side-effect terms, local statuses), the
code is minted under `settings.FHIR_SYSTEM_BASE`, which a clinic sets to a URL it controls and
never changes once data has been shared.
"""

from django.conf import settings

from clinic.monitoring.limits import Flag, Vital

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ROUTE = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CONTACT_ROLE = "http://terminology.hl7.org/CodeSystem/v2-0131"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
AE_CAUSALITY = "http://terminology.hl7.org/CodeSystem/adverse-event-causality-assess"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"


def local(name):
    """A code system (or other URI) of this installation, e.g. local("CodeSystem/vital-sign")."""
    return f"{settings.FHIR_SYSTEM_BASE.rstrip('/')}/{name}"


def mrn_system(clinic):
    """The identifier system of one clinic's medical record numbers."""
    return local(f"sid/mrn/{clinic.public_id}")


def coding(system, code, display=None):
    result = {"system": system, "code": code}
    if display:
        result["display"] = display
    return result


# --- vital signs (DOMAIN.md §4.2) ---------------------------------------------------------------

CATEGORY_VITAL_SIGNS = coding(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")
CATEGORY_SURVEY = coding(OBSERVATION_CATEGORY, "survey", "Survey")

BP_PANEL = coding(LOINC, "85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = coding(LOINC, "8480-6", "Systolic blood pressure")
DIASTOLIC = coding(LOINC, "8462-4", "Diastolic blood pressure")


class VitalCode:
    """One Observation kind made from a vital reading: its id suffix, codes, unit, category."""

    def __init__(self, slug, fields, codings, unit, ucum, category, text):
        self.slug = slug
        self.fields = fields
        self.codings = codings
        self.unit = unit
        self.ucum = ucum
        self.category = category
        self.text = text


VITAL_CODES = {
    code.slug: code
    for code in (
        VitalCode("bp", (Vital.SYSTOLIC, Vital.DIASTOLIC), [BP_PANEL], "mmHg", "mm[Hg]",
                  CATEGORY_VITAL_SIGNS, "Blood pressure"),
        VitalCode("hr", (Vital.HEART_RATE,), [coding(LOINC, "8867-4", "Heart rate")],
                  "beats/minute", "/min", CATEGORY_VITAL_SIGNS, "Heart rate"),
        VitalCode("spo2", (Vital.SPO2,),
                  [coding(LOINC, "59408-5",
                          "Oxygen saturation in Arterial blood by Pulse oximetry"),
                   coding(LOINC, "2708-6", "Oxygen saturation in Arterial blood")],
                  "%", "%", CATEGORY_VITAL_SIGNS, "SpO2"),
        VitalCode("rr", (Vital.RESPIRATORY_RATE,), [coding(LOINC, "9279-1", "Respiratory rate")],
                  "breaths/minute", "/min", CATEGORY_VITAL_SIGNS, "Respiratory rate"),
        VitalCode("temp", (Vital.TEMPERATURE,), [coding(LOINC, "8310-5", "Body temperature")],
                  "C", "Cel", CATEGORY_VITAL_SIGNS, "Body temperature"),
        # No confirmed LOINC codes (DOMAIN.md §4.2 "local"): rating scales, not vital signs.
        VitalCode("moaas", (Vital.MOAAS,), [],
                  "{score}", "{score}", CATEGORY_SURVEY,
                  "MOAA/S (Modified Observer's Assessment of Alertness/Sedation)"),
        VitalCode("cadss", (Vital.CADSS,), [],
                  "{score}", "{score}", CATEGORY_SURVEY,
                  "CADSS total (Clinician-Administered Dissociative States Scale)"),
    )
}  # fmt: skip


def vital_codings(vital_code):
    """The codings of a vital kind; local ones for the scales without a LOINC code."""
    if vital_code.codings:
        return vital_code.codings
    return [coding(local("CodeSystem/vital-sign"), vital_code.slug.upper(), vital_code.text)]


# The flags the clinic's limits give a value (clinic.monitoring.limits.flag_for), as FHIR
# interpretations.
INTERPRETATIONS = {
    Flag.CRITICAL_LOW: coding(INTERPRETATION, "LL", "Critical low"),
    Flag.LOW: coding(INTERPRETATION, "L", "Low"),
    Flag.HIGH: coding(INTERPRETATION, "H", "High"),
    Flag.CRITICAL_HIGH: coding(INTERPRETATION, "HH", "Critical high"),
}


# --- instruments (DOMAIN.md §7, §10) -----------------------------------------------------------


LOINC_DISPLAYS = {
    "44261-6": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    "70274-6": "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
}


def instrument_total_coding(instrument):
    """LOINC's total-score code where one exists (PHQ-9 44261-6, GAD-7 70274-6), else local."""
    loinc = (instrument.loinc or {}).get("total")
    if loinc:
        return coding(LOINC, loinc, LOINC_DISPLAYS.get(loinc))
    return coding(local("CodeSystem/instrument-score"), instrument.code, f"{instrument.code} total")


def questionnaire_url(instrument):
    """The canonical URL of an instrument's questionnaire: LOINC's form for a LOINC panel."""
    panel = (instrument.loinc or {}).get("panel")
    if panel:
        return f"{LOINC}/q/{panel}"
    return local(f"Questionnaire/{instrument.slug}")


# --- drugs and routes (DOMAIN.md §10) ----------------------------------------------------------

# RxNorm: DOMAIN.md §10 gives ketamine (ingredient) 6130, marked "unconfirmed"; esketamine has
# no RxNorm code there ("resolve from the NDC before release"), so only its NDC is sent.
DRUG_CODINGS = {
    "ketamine": [coding(RXNORM, "6130", "ketamine")],
    "esketamine": [],
}
DRUG_TEXT = {"ketamine": "Ketamine", "esketamine": "Esketamine nasal spray"}

ROUTES = {
    "iv": coding(ROUTE, "IV", "Infusion, intravenous"),
    "im": coding(ROUTE, "IM", "Injection, intramuscular"),
    "intranasal": coding(ROUTE, "NASINHL", "Inhalation, nasal"),
    "oral": coding(ROUTE, "PO", "Swallow, oral"),
    "sublingual": coding(ROUTE, "SL", "Dissolve, sublingual"),
}

# --- statuses -----------------------------------------------------------------------------------

SESSION_ENCOUNTER_STATUS = {
    "scheduled": "planned",
    "checked_in": "arrived",
    "ready": "in-progress",
    "dosing": "in-progress",
    "monitoring": "in-progress",
    "ready_for_discharge": "in-progress",
    "discharged": "finished",
    "transferred": "finished",
    "cancelled": "cancelled",
    "no_show": "cancelled",
}
FOLLOW_UP_ENCOUNTER_STATUS = {
    "scheduled": "planned",
    "completed": "finished",
    "missed": "cancelled",
    "cancelled": "cancelled",
}
PLAN_CARE_PLAN_STATUS = {
    "draft": "draft",
    "approved": "active",
    "suspended": "on-hold",
    "superseded": "revoked",
    "ended": "completed",
}
PLAN_ACTIVITY_STATUS = {
    "draft": "not-started",
    "approved": "in-progress",
    "suspended": "on-hold",
    "superseded": "stopped",
    "ended": "completed",
}

# --- side effects (DOMAIN.md §6.2) --------------------------------------------------------------

AE_OUTCOMES = {
    "recovered": "resolved",
    "recovering": "recovering",
    "not_recovered": "ongoing",
    "recovered_with_sequelae": "resolvedWithSequelae",
    "fatal": "fatal",
    "unknown": "unknown",
}
AE_CAUSALITY_CODES = {
    "certain": "Certain",
    "probable": "Probably-Likely",
    "possible": "Possible",
    "unlikely": "Unlikely",
    "not_assessable": "Unassessable-Unclassifiable",
}
SERIOUS_CRITERIA = {
    "death": "SeriousResultsInDeath",
    "life_threatening": "SeriousIsLifeThreatening",
    "hospitalisation": "SeriousResultsInHospitalization",
    "disability": "SeriousResultsInDisability",
    "congenital": "SeriousIsBirthDefect",
}


def ae_severity(grade):
    """CTCAE grade 1 mild, 2 moderate, 3-5 severe (the R4 value set has only three)."""
    return "mild" if grade <= 1 else "moderate" if grade == 2 else "severe"


# Patient.gender is administrative gender; the clinic records sex at birth, mapped here.
GENDER = {"female": "female", "male": "male", "intersex": "other", "unknown": "unknown"}
