"""Form helpers every app shares."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout


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
