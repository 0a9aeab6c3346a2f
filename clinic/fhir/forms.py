from django import forms

from clinic.core.forms import form_helper
from clinic.fhir.models import ApiToken


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        label="Token name",
        help_text="What it is for, so you can tell your tokens apart, e.g. “EHR sync”.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper()
