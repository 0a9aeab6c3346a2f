from allauth.account.adapter import DefaultAccountAdapter

from clinic.core.services import email_queue


class InvitationOnlyAccountAdapter(DefaultAccountAdapter):
    """Staff and patients are invited by their clinic; nobody signs themselves up."""

    def is_open_for_signup(self, request):
        return False

    def send_mail(self, template_prefix, email, context):
        """Account e-mails (password reset, …) go through the outbox, sent by a worker."""
        message = self.render_mail(template_prefix, email, context)
        html_body = next(
            (
                content
                for content, mimetype in getattr(message, "alternatives", [])
                if mimetype == "text/html"
            ),
            "",
        )
        email_queue(to=email, subject=message.subject, body=message.body, html_body=html_body)
