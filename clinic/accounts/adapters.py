from allauth.account.adapter import DefaultAccountAdapter


class InvitationOnlyAccountAdapter(DefaultAccountAdapter):
    """Staff and patients are invited by their clinic; nobody signs themselves up."""

    def is_open_for_signup(self, request):
        return False
