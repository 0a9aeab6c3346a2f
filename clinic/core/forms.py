"""Form helpers every app shares."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django import forms
from django.core.exceptions import BadRequest


def form_helper(*layout):
    """Templates write the <form> tag and the CSRF token; a helper renders only fields."""
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    if layout:
        helper.layout = Layout(*layout)
    return helper


def add_service_errors(form, exc, add=None):
    """A service's ValidationError into `form`: keyed messages beside their field when the
    form has it, everything else above the form."""
    add = add or (lambda key, msgs: form.add_error(key if key in form.fields else None, msgs))
    if hasattr(exc, "error_dict"):
        for key, msgs in exc.message_dict.items():
            add(key, msgs)
    else:
        form.add_error(None, exc.messages)


def filter_status(form):
    """HTTP status for a page filtered by `form`: 400 when a value is not among those the
    form offers (a tampered or stale link), shown with the form's messages beside the field
    rather than silently replaced; the value never reaches a query."""
    return 400 if form.is_bound and not form.is_valid() else 200


def choose_listed(options, value, *, key=lambda option: str(option.public_id)):
    """The option whose key is `value`, or the first option when no value was given.

    A value that names none of the user's options is a bad request, whether it is junk or
    another clinic's id: the caller's options are already scoped to the user.
    """
    if not value:
        return options[0]
    for option in options:
        if key(option) == value:
            return option
    raise BadRequest("That choice is not one of those offered to you.")


class ClinicChoiceMixin:
    """A `clinic` field offering the clinics passed in (already scoped to the user), hidden
    when there is only one; cleans to the Clinic, the first one when left out."""

    no_clinic_message = "Choose one of your clinics."

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinics = {str(clinic.public_id): clinic for clinic in clinics}
        self.fields["clinic"].choices = [(key, c.name) for key, c in self.clinics.items()]
        self.fields["clinic"].error_messages["invalid_choice"] = "Choose one of your clinics."
        if len(self.clinics) < 2:
            self.fields["clinic"].widget = forms.HiddenInput()

    def clean_clinic(self):
        key = self.cleaned_data.get("clinic") or next(iter(self.clinics), "")
        if key not in self.clinics:
            raise forms.ValidationError(self.no_clinic_message)
        return self.clinics[key]
