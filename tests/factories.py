import datetime

import factory
from django.contrib.auth.hashers import make_password

from clinic.accounts.models import User
from clinic.patients.models import CareTeamMember, Clinic, ClinicMembership, Patient

PASSWORD = "correct-horse-battery-staple"


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic

    name = factory.Sequence(lambda n: f"Test Clinic {n}")
    timezone = "America/New_York"
    mrn_prefix = "T"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.invalid")
    password = factory.LazyFunction(lambda: make_password(PASSWORD))


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    class Params:
        with_user = False

    clinic = factory.SubFactory(ClinicFactory)
    medical_record_number = factory.Sequence(lambda n: f"T-{n:06d}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    date_of_birth = factory.Faker(
        "date_between", start_date=datetime.date(1940, 1, 1), end_date=datetime.date(2005, 1, 1)
    )
    sex_at_birth = "female"
    phone = "+1 555 0100"
    user = factory.Maybe(
        "with_user", yes_declaration=factory.SubFactory(UserFactory), no_declaration=None
    )


class CareTeamMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareTeamMember

    patient = factory.SubFactory(PatientFactory)
    user = factory.SubFactory(UserFactory)
    responsibility = CareTeamMember.Responsibility.NURSE


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClinicMembership

    user = factory.SubFactory(UserFactory)
    clinic = factory.SubFactory(ClinicFactory)
    role = "prescriber"


def make_staff(*, clinic=None, role="prescriber", **user_fields):
    """A user holding `role` in `clinic` (a new clinic when none is given)."""
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, clinic=clinic or ClinicFactory(), role=role)
    return user


def give_authenticator_app(user):
    """Enrols `user` in TOTP two-factor authentication, with recovery codes, as the
    enrolment page would; returns the TOTP secret, to compute codes with allauth's helpers."""
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret
