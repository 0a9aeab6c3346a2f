import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from clinic.core.models import AccessEvent, Notification
from clinic.monitoring import services
from clinic.monitoring.models import VitalLimit, VitalReading

pytestmark = pytest.mark.django_db


def record(session, by, **values):
    return services.vital_record(session=session, by=by, phase="baseline", **values)


def test_implausible_value_is_refused_beside_the_field_and_nothing_is_saved(iv_session, nurse):
    with pytest.raises(ValidationError) as refused:
        record(iv_session, nurse, systolic=301, diastolic=80, heart_rate=19)
    assert set(refused.value.message_dict) == {"systolic", "heart_rate"}
    assert "measure again" in refused.value.message_dict["systolic"][0]
    assert not VitalReading.objects.exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"systolic": 80, "diastolic": 80}, "systolic"),
        ({"systolic": 120}, "diastolic"),
        ({"heart_rate": "7O"}, "heart_rate"),
        ({"heart_rate": "72.5"}, "heart_rate"),
        ({"temperature_c": "nan"}, "temperature_c"),
        ({}, "__all__"),
    ],
)
def test_malformed_readings_are_refused(iv_session, nurse, values, field):
    with pytest.raises(ValidationError) as refused:
        record(iv_session, nurse, **values)
    assert field in refused.value.message_dict
    assert not VitalReading.objects.exists()


def test_normal_reading_has_no_flags_and_raises_no_alert(iv_session, nurse):
    reading = record(iv_session, nurse, systolic=120, diastolic=76, heart_rate=70, spo2=98)
    assert reading.flags == {} and not reading.has_critical
    assert not Notification.objects.exists()
    assert AccessEvent.objects.filter(object_type="vital_reading", action="create").count() == 1


def test_out_of_normal_value_is_flagged_without_an_alert(iv_session, nurse):
    reading = record(iv_session, nurse, systolic=150, diastolic=95)
    assert reading.flags == {"systolic": "high", "diastolic": "high"}
    assert not reading.has_critical
    assert not Notification.objects.exists()


def test_critical_value_is_saved_flagged_and_alerts_the_sessions_prescriber_once(
    iv_session, nurse, prescriber, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reading = record(iv_session, nurse, spo2=89, heart_rate=72)
    assert reading.flags == {"spo2": "critical_low"}
    assert reading.has_critical
    alert = Notification.objects.get()
    assert alert.recipient == prescriber
    assert "critical SpO₂" in alert.title
    assert alert.link.endswith(f"/sessions/{iv_session.public_id}/")
    # The e-mail copy says nothing clinical and links to the page.
    assert len(mail.outbox) == 1
    assert "SpO" not in mail.outbox[0].body and alert.link in mail.outbox[0].body
    assert list(services.unacknowledged_critical_readings(iv_session)) == [reading]


def test_acknowledgment_needs_an_action_and_clears_the_reading(iv_session, nurse, prescriber):
    reading = record(iv_session, nurse, systolic=185, diastolic=100)
    with pytest.raises(ValidationError) as refused:
        services.vital_acknowledge(reading=reading, by=prescriber, action_taken="  ")
    assert "action_taken" in refused.value.message_dict
    services.vital_acknowledge(reading=reading, by=prescriber, action_taken="Rechecked; rest.")
    assert not services.unacknowledged_critical_readings(iv_session).exists()
    with pytest.raises(ValidationError):
        services.vital_acknowledge(reading=reading, by=prescriber, action_taken="Again")


def test_clinic_limits_override_the_defaults(iv_session, nurse, clinic):
    VitalLimit.objects.create(clinic=clinic, vital="systolic", critical_from=160,
                              critical_below=90, normal_low=90, normal_high=150)  # fmt: skip
    assert record(iv_session, nurse, systolic=150, diastolic=80).flags == {}
    assert record(iv_session, nurse, systolic=160, diastolic=80).has_critical


def test_systolic_rise_of_more_than_40_over_baseline_alerts(iv_session, nurse, prescriber):
    record(iv_session, nurse, systolic=110, diastolic=70)
    services.vital_record(session=iv_session, by=nurse, phase="intra", systolic=150,
                          diastolic=85)  # fmt: skip
    assert not Notification.objects.exists()  # exactly 40: no alert
    services.vital_record(session=iv_session, by=nurse, phase="intra", systolic=151,
                          diastolic=85)  # fmt: skip
    assert "41 mmHg above baseline" in Notification.objects.get().title


def test_readings_cannot_be_changed_in_the_database_only_marked_in_error(iv_session, nurse):
    reading = record(iv_session, nurse, systolic=120, diastolic=80)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE monitoring_vitalreading SET systolic = 90 WHERE id = %s", [reading.pk]
        )
    services.vital_mark_entered_in_error(reading=reading, by=nurse, reason="Wrong patient")
    reading.refresh_from_db()
    assert reading.entered_in_error and reading.systolic == 120


def test_a_reading_in_the_future_is_refused(iv_session, nurse):
    with pytest.raises(ValidationError) as refused:
        services.vital_record(
            session=iv_session, by=nurse, phase="baseline", systolic=120, diastolic=80,
            taken_at=timezone.now() + datetime.timedelta(minutes=10),
        )  # fmt: skip
    assert "taken_at" in refused.value.message_dict


def test_another_clinics_clinician_cannot_record(iv_session, other_clinician):
    with pytest.raises(ValidationError):
        record(iv_session, other_clinician, systolic=120, diastolic=80)
    assert not VitalReading.objects.exists()
