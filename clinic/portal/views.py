from django.shortcuts import render

from clinic.core.access import patient_required
from clinic.patients import selectors


@patient_required
def portal_home(request):
    patient = selectors.own_patient_record(request.user)
    return render(
        request,
        "portal/home.html",
        {"patient": patient, "care_team": selectors.care_team_for_patient(patient)},
    )
