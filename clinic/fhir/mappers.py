"""One function per FHIR R4 resource type, turning a record into a plain dict (JSON-ready).

Pure: no queries. Every related object a mapper reads is fetched by the selectors with
`select_related` / `prefetch_related`, so a page of results costs the same number of queries
whatever its size. References are relative ("Patient/<id>"); people the API does not serve as
resources (staff) are named by a display-only reference.
"""

import datetime
from decimal import Decimal

from clinic.fhir import codes
from clinic.fhir.codes import coding
from clinic.measures import instruments

FHIR_VERSION = "4.0.1"


# --- primitives ---------------------------------------------------------------------------------


def instant(value):
    """A stored (UTC) time as an ISO 8601 instant with its offset."""
    return value.astimezone(datetime.UTC).isoformat()


def number(value):
    """A Decimal as a JSON number: an int when whole, else a float of the same digits."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def quantity(value, unit, ucum):
    return {"value": number(value), "unit": unit, "system": codes.UCUM, "code": ucum}


def reference(resource_type, public_id, display=None):
    result = {"reference": f"{resource_type}/{public_id}"}
    if display:
        result["display"] = display
    return result


def person(user):
    """A staff member, who is not served as a Practitioner resource: a display-only reference."""
    return {"display": user.display_name} if user is not None else None


def meta(updated_at):
    return {"lastUpdated": instant(updated_at)}


def concept(*codings, text=None):
    result = {}
    if codings:
        result["coding"] = list(codings)
    if text:
        result["text"] = text
    return result


def _prune(resource):
    """Leave out keys whose value is None or empty, as FHIR JSON requires."""
    return {key: value for key, value in resource.items() if value not in (None, [], {}, "")}


def _patient_reference(patient):
    return reference("Patient", patient.public_id)


# --- Patient ------------------------------------------------------------------------------------


def patient(record):
    clinic = record.clinic
    names = [
        {
            "use": "official",
            "text": record.full_name,
            "family": record.family_name,
            "given": [record.given_name],
        }
    ]
    if record.preferred_name and record.preferred_name != record.given_name:
        names.append(
            {"use": "usual", "family": record.family_name, "given": [record.preferred_name]}
        )
    telecom = []
    if record.phone:
        telecom.append({"system": "phone", "value": record.phone})
    if record.email:
        telecom.append({"system": "email", "value": record.email})
    contacts = []
    if record.emergency_contact_name or record.emergency_contact_phone:
        contacts.append(
            _prune(
                {
                    "relationship": [
                        concept(
                            coding(codes.CONTACT_ROLE, "C", "Emergency Contact"),
                            text=record.emergency_contact_relationship or None,
                        )
                    ],
                    "name": {"text": record.emergency_contact_name}
                    if record.emergency_contact_name
                    else None,
                    "telecom": [{"system": "phone", "value": record.emergency_contact_phone}]
                    if record.emergency_contact_phone
                    else None,
                }
            )
        )
    return _prune(
        {
            "resourceType": "Patient",
            "id": str(record.public_id),
            "meta": meta(record.updated_at),
            "identifier": [
                {
                    "use": "usual",
                    "type": concept(
                        coding(codes.IDENTIFIER_TYPE, "MR", "Medical record number"), text="MRN"
                    ),
                    "system": codes.mrn_system(clinic),
                    "value": record.medical_record_number,
                    "assigner": {"display": clinic.name},
                }
            ],
            "active": record.status != "inactive",
            "name": names,
            "telecom": telecom,
            "gender": codes.GENDER.get(record.sex_at_birth, "unknown"),
            "birthDate": record.date_of_birth.isoformat(),
            "deceasedBoolean": record.status == "deceased",
            "address": [{"text": record.address}] if record.address else None,
            "contact": contacts,
            "managingOrganization": {"display": clinic.name},
        }
    )


# --- Encounter ----------------------------------------------------------------------------------

AMBULATORY = coding(codes.ACT_CODE, "AMB", "ambulatory")


def _participants(*pairs):
    return [
        {
            "type": [concept(coding(codes.PARTICIPATION_TYPE, code, display))],
            "individual": person(user),
        }
        for code, display, user in pairs
        if user is not None
    ]


def encounter_from_session(session):
    course = session.course
    start = session.checked_in_at or session.scheduled_at
    end = None
    if session.status == "discharged":
        end = session.discharged_at
    elif session.status == "transferred":
        end = session.status_changed_at
    disposition = {
        "discharged": ("home", "Home"),
        "transferred": ("other-hcf", "Other healthcare facility"),
    }.get(session.status)
    return _prune(
        {
            "resourceType": "Encounter",
            "id": str(session.public_id),
            "meta": meta(session.updated_at),
            "status": codes.SESSION_ENCOUNTER_STATUS.get(session.status, "unknown"),
            "class": AMBULATORY,
            "type": [
                concept(
                    coding(
                        codes.local("CodeSystem/encounter-type"),
                        "administration-session",
                        "Ketamine or esketamine administration session",
                    ),
                    text=f"Session {session.session_number} ({session.get_status_display()})",
                )
            ],
            "subject": _patient_reference(course.patient),
            "participant": _participants(
                ("ATND", "attender", session.prescriber), ("PART", "Participation", session.nurse)
            ),
            "period": _prune(
                {
                    "start": instant(start),
                    "end": instant(end) if end is not None and end >= start else None,
                }
            ),
            "reasonCode": [{"text": course.indication}],
            "hospitalization": {
                "dischargeDisposition": concept(coding(codes.DISCHARGE_DISPOSITION, *disposition))
            }
            if disposition
            else None,
            "serviceProvider": {"display": course.patient.clinic.name},
        }
    )


def encounter_from_follow_up(follow_up):
    course = follow_up.course
    day = follow_up.completed_on or follow_up.due_on
    return _prune(
        {
            "resourceType": "Encounter",
            "id": str(follow_up.public_id),
            "meta": meta(follow_up.updated_at),
            "status": codes.FOLLOW_UP_ENCOUNTER_STATUS.get(follow_up.status, "unknown"),
            "class": AMBULATORY,
            "type": [
                concept(
                    coding(
                        codes.local("CodeSystem/encounter-type"),
                        follow_up.kind,
                        follow_up.get_kind_display(),
                    ),
                    text=f"Follow-up visit: {follow_up.get_kind_display()}",
                )
            ],
            "subject": _patient_reference(course.patient),
            "participant": _participants(("ATND", "attender", follow_up.completed_by)),
            "period": {"start": day.isoformat()},
            "reasonCode": [{"text": course.indication}],
            "serviceProvider": {"display": course.patient.clinic.name},
        }
    )


# --- Observation --------------------------------------------------------------------------------


def _interpretation(reading, vital):
    flag = (reading.flags or {}).get(vital)
    return [concept(codes.INTERPRETATIONS[flag])] if flag in codes.INTERPRETATIONS else None


def observation_id(source_public_id, slug):
    return f"{source_public_id}-{slug}"


def observation_from_reading(reading, slug):
    """One Observation of a vital reading: `slug` names which (codes.VITAL_CODES); blood
    pressure is one panel with systolic and diastolic components."""
    vital_code = codes.VITAL_CODES[slug]
    session = reading.session
    resource = {
        "resourceType": "Observation",
        "id": observation_id(reading.public_id, slug),
        "meta": meta(reading.updated_at),
        "status": "entered-in-error" if reading.entered_in_error else "final",
        "category": [concept(vital_code.category)],
        "code": concept(*codes.vital_codings(vital_code), text=vital_code.text),
        "subject": _patient_reference(session.course.patient),
        "encounter": reference("Encounter", session.public_id),
        "effectiveDateTime": instant(reading.taken_at),
        "performer": [person(reading.entered_by)],
        "note": [{"text": f"Entered in error: {reading.entered_in_error_reason}"}]
        if reading.entered_in_error and reading.entered_in_error_reason
        else None,
    }
    if slug == "bp":
        resource["component"] = [
            _prune(
                {
                    "code": concept(component_code),
                    "valueQuantity": quantity(getattr(reading, vital), "mmHg", "mm[Hg]"),
                    "interpretation": _interpretation(reading, vital),
                }
            )
            for vital, component_code in (
                ("systolic", codes.SYSTOLIC),
                ("diastolic", codes.DIASTOLIC),
            )
            if getattr(reading, vital) is not None
        ]
    else:
        (vital,) = vital_code.fields
        resource["valueQuantity"] = quantity(
            getattr(reading, vital), vital_code.unit, vital_code.ucum
        )
        resource["interpretation"] = _interpretation(reading, vital)
    return _prune(resource)


def instrument_for(code):
    try:
        return instruments.get(code)
    except instruments.UnknownInstrument:
        return None


def _response_author(response):
    if response.mode == "self":
        return _patient_reference(response.patient)
    return person(response.entered_by)


def observation_from_response(response):
    """The total score of a questionnaire or rating, derived from its QuestionnaireResponse."""
    instrument = instrument_for(response.instrument_code)
    if instrument is not None:
        code = concept(
            codes.instrument_total_coding(instrument), text=f"{instrument.name} total score"
        )
    else:
        code = concept(
            coding(codes.local("CodeSystem/instrument-score"), response.instrument_code),
            text=f"{response.instrument_code} total score",
        )
    return _prune(
        {
            "resourceType": "Observation",
            "id": observation_id(response.public_id, "total"),
            "meta": meta(response.updated_at),
            "status": "final",
            "category": [concept(codes.CATEGORY_SURVEY)],
            "code": code,
            "subject": _patient_reference(response.patient),
            "encounter": reference("Encounter", response.session.public_id)
            if response.session_id
            else None,
            "effectiveDateTime": instant(response.completed_at),
            "performer": [_response_author(response)],
            "valueQuantity": quantity(response.total, "{score}", "{score}"),
            "interpretation": [{"text": response.band}] if response.band else None,
            "derivedFrom": [reference("QuestionnaireResponse", response.public_id)],
        }
    )


# --- QuestionnaireResponse ----------------------------------------------------------------------


def _answer(instrument, item, value):
    answer_codes = (instrument.loinc or {}).get("answers") if item.scored else None
    label = next((option.label for option in item.options if option.value == value), None)
    if answer_codes and value in answer_codes:
        value_coding = coding(codes.LOINC, answer_codes[value], label)
        value_coding["extension"] = [{"url": codes.ORDINAL_VALUE, "valueDecimal": value}]
        return {"valueCoding": value_coding}
    return {"valueInteger": value}


def questionnaire_response(response):
    instrument = instrument_for(response.instrument_code)
    items = []
    if instrument is not None:
        shows_wording = instrument.licence in ("free", "public domain")
        for item, value in zip(instrument.items, response.answers, strict=False):
            if value is None:
                continue
            items.append(
                {
                    "linkId": str(item.number),
                    "text": item.text if shows_wording else item.label,
                    "answer": [_answer(instrument, item, value)],
                }
            )
        questionnaire = codes.questionnaire_url(instrument)
    else:
        items = [
            {"linkId": str(number), "answer": [{"valueInteger": value}]}
            for number, value in enumerate(response.answers, start=1)
            if isinstance(value, int)
        ]
        questionnaire = None
    return _prune(
        {
            "resourceType": "QuestionnaireResponse",
            "id": str(response.public_id),
            "meta": meta(response.updated_at),
            "questionnaire": questionnaire,
            "status": "completed",
            "subject": _patient_reference(response.patient),
            "encounter": reference("Encounter", response.session.public_id)
            if response.session_id
            else None,
            "authored": instant(response.completed_at),
            "author": _response_author(response),
            "source": _patient_reference(response.patient) if response.mode == "self" else None,
            "item": items,
        }
    )


# --- MedicationAdministration -------------------------------------------------------------------


def _medication(lot):
    """The drug and lot given, as a contained Medication (DOMAIN.md §10: lot and expiry in
    Medication.batch)."""
    codings = [*codes.DRUG_CODINGS.get(lot.drug, []), coding(codes.NDC, lot.ndc, lot.product_name)]
    if lot.is_device:
        strength = {
            "numerator": quantity(lot.mg_per_unit, "mg", "mg"),
            "denominator": quantity(1, "device", "{device}"),
        }
    else:
        strength = {
            "numerator": quantity(lot.concentration_mg_per_ml, "mg", "mg"),
            "denominator": quantity(1, "mL", "mL"),
        }
    return {
        "resourceType": "Medication",
        "id": "med",
        "code": concept(*codings, text=lot.product_name),
        "ingredient": [
            {
                "itemCodeableConcept": concept(
                    *codes.DRUG_CODINGS.get(lot.drug, []), text=codes.DRUG_TEXT.get(lot.drug)
                ),
                "isActive": True,
                "strength": strength,
            }
        ],
        "batch": {"lotNumber": lot.lot_number, "expirationDate": lot.expiry_date.isoformat()},
    }


def medication_administration(entry):
    """One ADMINISTER row of the controlled-substance ledger: the dose given from one lot in
    one session. A reversed row is reported as entered in error."""
    lot, session = entry.lot, entry.session
    route = session.route or session.plan.route
    reversed_entry = getattr(entry, "reversed_by", None) is not None
    if session.dose_started_at is not None:
        effective = {
            "effectivePeriod": _prune(
                {
                    "start": instant(session.dose_started_at),
                    "end": instant(session.dose_ended_at) if session.dose_ended_at else None,
                }
            )
        }
    else:
        effective = {"effectiveDateTime": instant(entry.event_at)}
    amount = f"{entry.quantity} {lot.unit}{'s' if lot.is_device and entry.quantity != 1 else ''}"
    dosage = {
        "text": f"{number(entry.mg)} mg ({amount}) from lot {lot.lot_number}",
        "route": concept(codes.ROUTES[route], text=session.get_route_display() or route)
        if route in codes.ROUTES
        else None,
        "dose": quantity(entry.mg, "mg", "mg"),
        "rateQuantity": quantity(session.rate_ml_per_hour, "mL/h", "mL/h")
        if route == "iv" and session.rate_ml_per_hour
        else None,
    }
    return _prune(
        {
            "resourceType": "MedicationAdministration",
            "id": str(entry.public_id),
            "meta": meta(entry.recorded_at),
            "contained": [_medication(lot)],
            "status": "entered-in-error" if reversed_entry else "completed",
            "medicationReference": {"reference": "#med", "display": lot.product_name},
            "subject": _patient_reference(session.course.patient),
            "context": reference("Encounter", session.public_id),
            **effective,
            "performer": [{"actor": person(entry.actor)}],
            "dosage": _prune(dosage),
        }
    )


# --- AdverseEvent -------------------------------------------------------------------------------


def _seriousness(report):
    if not report.serious:
        return concept(coding(codes.AE_SERIOUSNESS, "Non-serious", "Non-serious"))
    criteria = list(report.serious_criteria or [])
    code = next(
        (codes.SERIOUS_CRITERIA[c] for c in criteria if c in codes.SERIOUS_CRITERIA), "Serious"
    )
    labels = ", ".join(str(c).replace("_", " ") for c in criteria)
    return concept(
        coding(codes.AE_SERIOUSNESS, code), text=f"Serious: {labels}" if labels else "Serious"
    )


def adverse_event(report, administrations=()):
    """A side effect or adverse event; the ADMINISTER rows of its session are the suspects."""
    causality_code = codes.AE_CAUSALITY_CODES.get(report.relatedness)
    causality = [
        {
            "assessment": concept(
                *([coding(codes.AE_CAUSALITY, causality_code)] if causality_code else []),
                text=report.get_relatedness_display(),
            )
        }
    ]
    outcome = codes.AE_OUTCOMES.get(report.outcome, "unknown")
    return _prune(
        {
            "resourceType": "AdverseEvent",
            "id": str(report.public_id),
            "meta": meta(report.updated_at),
            "actuality": "actual",
            "event": concept(
                coding(
                    codes.local("CodeSystem/side-effect"), report.term, report.get_term_display()
                ),
                text=report.term_label,
            ),
            "subject": _patient_reference(report.course.patient),
            "encounter": reference("Encounter", report.session.public_id)
            if report.session_id
            else None,
            "date": instant(report.onset_at),
            "recordedDate": instant(report.created_at),
            "recorder": person(report.reporter),
            "seriousness": _seriousness(report),
            "severity": concept(
                coding(codes.AE_SEVERITY, codes.ae_severity(report.grade)),
                text=report.get_grade_display(),
            ),
            "outcome": concept(
                coding(codes.AE_OUTCOME, outcome), text=report.get_outcome_display()
            ),
            "suspectEntity": [
                {
                    "instance": reference("MedicationAdministration", entry.public_id),
                    "causality": causality,
                }
                for entry in administrations
            ],
        }
    )


# --- CarePlan -----------------------------------------------------------------------------------


def _plan_summary(plan):
    route = plan.get_route_display()
    if plan.dose_mode == "mg_per_kg":
        dose = f"{number(plan.mg_per_kg)} mg/kg"
    elif plan.dose_mode == "fixed_mg":
        dose = f"{number(plan.fixed_dose_mg)} mg"
    else:
        dose = f"{plan.device_count} device{'s' if plan.device_count != 1 else ''} of 28 mg"
    parts = [f"{plan.get_drug_display()}, {route}, {dose} (at most {number(plan.max_dose_mg)} mg)"]
    if plan.infusion_minutes:
        parts.append(f"over {plan.infusion_minutes} min")
    parts.append(
        f"{plan.induction_sessions} sessions, {plan.sessions_per_week} a week; "
        f"review after session {plan.review_after_sessions}"
    )
    return "; ".join(parts) + "."


def care_plan(plan):
    course = plan.course
    drug = concept(*codes.DRUG_CODINGS.get(plan.drug, []), text=plan.get_drug_display())
    notes = [
        {"text": f"{label}: {text}"}
        for label, text in (
            ("Fasting", plan.fasting_instructions),
            ("Stop criteria", plan.stop_criteria),
            ("Notes", plan.notes),
        )
        if text
    ]
    return _prune(
        {
            "resourceType": "CarePlan",
            "id": str(plan.public_id),
            "meta": meta(plan.updated_at),
            "status": codes.PLAN_CARE_PLAN_STATUS.get(plan.status, "unknown"),
            "intent": "plan",
            "title": f"{plan.get_drug_display()} treatment plan, version {plan.version}",
            "description": _plan_summary(plan),
            "subject": _patient_reference(course.patient),
            "period": {"start": instant(plan.signed_at)} if plan.signed_at else None,
            "created": instant(plan.created_at),
            "author": person(plan.author),
            "replaces": [reference("CarePlan", plan.previous_version.public_id)]
            if plan.previous_version_id
            else None,
            "activity": [
                {
                    "detail": _prune(
                        {
                            "kind": "MedicationRequest",
                            "status": codes.PLAN_ACTIVITY_STATUS.get(plan.status, "unknown"),
                            "productCodeableConcept": drug,
                            "scheduledTiming": {
                                "repeat": {
                                    "count": plan.induction_sessions,
                                    "frequency": plan.sessions_per_week,
                                    "period": 1,
                                    "periodUnit": "wk",
                                }
                            },
                            "dailyAmount": quantity(plan.dose_mg, "mg", "mg")
                            if plan.dose_mg is not None
                            else None,
                            "description": _plan_summary(plan),
                        }
                    )
                }
            ],
            "note": notes,
        }
    )


# --- Consent ------------------------------------------------------------------------------------


def consent(consultation):
    course = consultation.course
    kind_label = consultation.get_consent_kind_display()
    return _prune(
        {
            "resourceType": "Consent",
            "id": str(consultation.public_id),
            "meta": meta(consultation.updated_at),
            "status": "inactive" if course.is_closed else "active",
            "scope": concept(coding(codes.CONSENT_SCOPE, "treatment", "Treatment")),
            "category": [concept(coding(codes.LOINC, "59284-0", "Patient Consent"))],
            "patient": _patient_reference(course.patient),
            "dateTime": consultation.consent_signed_on.isoformat(),
            "performer": [_patient_reference(course.patient)],
            "organization": [{"display": course.patient.clinic.name}],
            "policyRule": concept(
                coding(
                    codes.local("CodeSystem/consent-kind"), consultation.consent_kind, kind_label
                ),
                text=f"{kind_label}, form version {consultation.consent_version}",
            ),
            "provision": {"type": "permit"},
        }
    )


# --- Bundle, OperationOutcome, CapabilityStatement ----------------------------------------------


def operation_outcome(code, diagnostics, severity="error"):
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def bundle(entries, *, total, links):
    """A searchset: `entries` are (fullUrl, resource, search mode)."""
    return _prune(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": [{"relation": relation, "url": url} for relation, url in links],
            "entry": [
                {"fullUrl": full_url, "resource": resource, "search": {"mode": mode}}
                for full_url, resource, mode in entries
            ],
        }
    )


CAPABILITY_DATE = "2026-05-01"


def capability_statement(base_url, search_params, resource_types):
    """What this server does: read and search of the resource types below, with the search
    parameters each supports, and Patient/$everything. Bearer-token authentication."""
    resources = []
    for resource_type in resource_types:
        params = search_params.get(resource_type, {})
        resources.append(
            _prune(
                {
                    "type": resource_type,
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [
                        {"name": name, "type": param_type} for name, param_type in params.items()
                    ],
                    "operation": [
                        {
                            "name": "everything",
                            "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                        }
                    ]
                    if resource_type == "Patient"
                    else None,
                }
            )
        )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": CAPABILITY_DATE,
        "publisher": "Kestrel",
        "kind": "instance",
        "software": {"name": "Kestrel"},
        "implementation": {"description": "Kestrel read-only FHIR R4 API", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Read-only. Send `Authorization: Bearer <token>`; staff create and revoke "
                    "tokens at /fhir/tokens/. A token sees exactly what its user's staff pages "
                    "show, and every read and search is audited. Searches page with _count "
                    "(default 50, at most 200) and _offset."
                ),
                "security": {
                    "cors": False,
                    "description": "Bearer tokens (per user, revocable); 401 without one.",
                },
                "resource": resources,
            }
        ],
    }
