"""Password rules: length and a common-password check, no composition rules."""

import pytest
from django.urls import reverse

from tests import factories


def change_password(client, new_password):
    return client.post(
        reverse("account_change_password"),
        {"oldpassword": factories.PASSWORD, "password1": new_password, "password2": new_password},
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("tulip-river", "at least 12 characters"),  # 11 characters
        ("password1234", "too common"),
    ],
)
def test_short_and_common_passwords_are_refused_with_a_message(
    client, nurse, new_password, message
):
    client.force_login(nurse)
    response = change_password(client, new_password)
    assert message in response.content.decode()
    nurse.refresh_from_db()
    assert nurse.check_password(factories.PASSWORD)


@pytest.mark.django_db
def test_a_long_passphrase_without_digits_or_symbols_is_accepted(client, nurse):
    client.force_login(nurse)
    response = change_password(client, "quiet orchards hum at dusk")
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert nurse.check_password("quiet orchards hum at dusk")
