"""`{% form_key %}`: a hidden, single-use key in a POST form, so that sending the same
rendered form twice saves once (clinic.core.middleware.IdempotentPostMiddleware). A builtin
tag: every template can use it without {% load %}."""

import uuid

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def form_key():
    return format_html('<input type="hidden" name="form_key" value="{}">', uuid.uuid4())
