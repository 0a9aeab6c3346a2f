"""The e-mail outbox: recorded first, sent by a worker, sent once."""

import smtplib

import pytest
from django.core import mail

from clinic.core import services, tasks
from clinic.core.models import OutboundEmail


@pytest.mark.django_db
def test_an_email_is_recorded_and_sent_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email = services.email_queue(to="a@example.invalid", subject="Hello", body="Body")
        assert mail.outbox == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 1)
    assert [m.subject for m in mail.outbox] == ["Hello"]


@pytest.mark.django_db
def test_sending_twice_sends_once():
    email = OutboundEmail.objects.create(to="a@example.invalid", subject="Once", body="x")
    tasks.send_outbound_email.apply(args=[email.pk])
    tasks.send_outbound_email.apply(args=[email.pk])
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_mail_server_failure_keeps_the_email_pending_with_the_error(monkeypatch):
    email = OutboundEmail.objects.create(to="a@example.invalid", subject="Retry", body="x")

    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("connection closed")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        services.email_send(email_id=email.pk)
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("pending", 1)
    assert "connection closed" in email.last_error


@pytest.mark.django_db
def test_after_the_last_attempt_the_email_is_marked_failed(monkeypatch):
    email = OutboundEmail.objects.create(
        to="a@example.invalid",
        subject="Give up",
        body="x",
        attempts=services.MAX_EMAIL_ATTEMPTS - 1,
    )
    monkeypatch.setattr(
        "django.core.mail.EmailMultiAlternatives.send",
        lambda *a, **k: (_ for _ in ()).throw(OSError("down")),
    )
    with pytest.raises(OSError):
        services.email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == "failed"


@pytest.mark.django_db
def test_a_broker_outage_leaves_the_email_for_the_sweep(
    monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.send_outbound_email, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        email = services.email_queue(to="a@example.invalid", subject="Later", body="x")
    email.refresh_from_db()
    assert email.status == "pending"
    monkeypatch.undo()
    OutboundEmail.objects.filter(pk=email.pk).update(
        created_at=email.created_at - __import__("datetime").timedelta(minutes=5)
    )
    tasks.sweep_outbound_email.apply()
    email.refresh_from_db()
    assert email.status == "sent"
