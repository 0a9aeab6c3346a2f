import logging
import threading

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from clinic.core.models import OutboundEmail

MAX_EMAIL_ATTEMPTS = 8


def email_queue(*, to, subject, body, html_body=""):
    """Records an e-mail in the outbox and asks a worker to send it once the caller's
    transaction commits. Never touches the broker inside the transaction."""
    from clinic.core.tasks import send_outbound_email

    email = OutboundEmail(to=to, subject=subject[:255], body=body, html_body=html_body)
    email.full_clean()
    email.save()
    transaction.on_commit(lambda: _enqueue(send_outbound_email, email.pk))
    return email


def _enqueue(task, *args):
    """Queues a task without making the caller wait on the broker.

    With a real broker the publish runs on a short-lived thread: a broker that is down
    refuses at once, but one that hangs (paused, a dead NAT path) would hold the request for
    the socket timeout. Either way the row stays pending and the outbox sweep sends it later.
    Eager mode (demo, most tests) runs the task inline, as before."""
    if task.app.conf.task_always_eager:
        _publish(task, args)
        return
    threading.Thread(target=_publish, args=(task, args), daemon=True).start()


def _publish(task, args):
    try:
        task.apply_async(args=args, retry=False)
    except Exception:  # the broker is down: the row stays pending for the sweep
        logging.getLogger(__name__).warning("Broker unavailable; %s left for the sweep", args)


def email_send(*, email_id):
    """Sends one outbox row unless it was already sent. Safe to call twice, even at
    the same time: the row lock lets one caller send and the other find it sent.

    A failure is recorded (attempts, error) and then re-raised, so the task retries.
    """
    failure = None
    with transaction.atomic():
        email = OutboundEmail.objects.select_for_update().get(pk=email_id)
        if email.status != OutboundEmail.Status.PENDING:
            return email
        email.attempts += 1
        message = EmailMultiAlternatives(email.subject, email.body, to=[email.to])
        if email.html_body:
            message.attach_alternative(email.html_body, "text/html")
        try:
            message.send()
        except Exception as exc:
            failure = exc
            email.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if email.attempts >= MAX_EMAIL_ATTEMPTS:
                email.status = OutboundEmail.Status.FAILED
        else:
            email.status = OutboundEmail.Status.SENT
            email.sent_at = timezone.now()
            email.last_error = ""
        email.save(update_fields=["attempts", "status", "sent_at", "last_error", "updated_at"])
    if failure is not None:
        raise failure
    return email


def pending_email_ids(*, older_than_seconds=60, limit=500):
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    return list(
        OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


def notify(
    *,
    recipients,
    kind,
    title,
    source_key,
    severity="urgent",
    body="",
    link="",
    clinic=None,
    patient=None,
    email=True,
):
    """Creates one in-app notification per recipient (once per `source_key`) and queues an
    e-mail copy through the outbox. Call inside the transaction that raised the alert."""
    from django.conf import settings

    from clinic.core.models import Notification

    created = []
    for recipient in {user.pk: user for user in recipients if user is not None}.values():
        if Notification.objects.filter(recipient=recipient, source_key=source_key).exists():
            continue
        outbound = None
        if email and recipient.email:
            outbound = email_queue(
                to=recipient.email,
                subject=f"[Kestrel] {severity.capitalize()}: an alert needs your attention",
                body=(
                    "An alert in Kestrel needs your attention. Sign in to review it:\n"
                    f"{settings.SITE_URL.rstrip('/')}{link}\n\n"
                    "This message deliberately holds no patient details."
                ),
            )
        created.append(
            Notification.objects.create(
                recipient=recipient,
                clinic=clinic,
                patient=patient,
                kind=kind,
                severity=severity,
                title=title[:200],
                body=body,
                link=link,
                source_key=source_key[:120],
                email=outbound,
            )
        )
    return created


def notification_mark_read(*, notification, user):
    from clinic.core.models import Notification

    if notification.recipient_id != user.pk:
        raise PermissionError("Not your notification.")
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def heartbeat_record(*, name):
    from clinic.core.models import Heartbeat

    Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})


def addendum_write(*, target, author, text, bound_to):
    """Stores a signed, hashed addendum on `target`. `bound_to` names what the hash binds the
    text to (the record, and the note's own hash when it has one). Call inside the caller's
    transaction, after its permission checks."""
    from django.contrib.contenttypes.models import ContentType

    from clinic.core.models import Addendum
    from clinic.core.signing import content_hash

    signed_at = timezone.now()
    addendum = Addendum(
        content_type=ContentType.objects.get_for_model(type(target)),
        object_id=target.pk,
        text=text,
        author=author,
        signed_at=signed_at,
    )
    addendum.content_hash = content_hash(
        {**bound_to, "text": text, "author": author, "signed_at": signed_at}
    )
    addendum.full_clean()
    addendum.save()
    return addendum


def form_submissions_prune(*, older_than_days=3):
    from clinic.core.models import FormSubmission

    cutoff = timezone.now() - timezone.timedelta(days=older_than_days)
    deleted, _ = FormSubmission.objects.filter(created_at__lt=cutoff).delete()
    return deleted
