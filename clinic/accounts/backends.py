"""Authentication backends that load the signed-in user of a request in one query.

Every signed-in page needs, besides the user row, the user's active clinic memberships
(roles, navigation, time zone), a patient's own record and clinic (portal pages, time zone)
and a staff member's count of unread alerts (the bell). Loaded separately that is three to
five queries on every request; here they come with the user row: the patient record and
clinic by join, the memberships and the count as correlated subqueries.
"""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.db import connection
from django.db.models import IntegerField, JSONField
from django.db.models.expressions import RawSQL

from clinic.core.lookups import only_row

# The two correlated subqueries, as fixed SQL: the ORM's Subquery/JSONObject form cost about
# 3 ms of query compilation on every request (measured: 4.8 ms for the ORM form, 2.0 ms for
# this one, 2.5 ms for the four queries it replaces). tests/accounts/test_request_user.py
# checks both against the ORM's answers.
MEMBERSHIPS_SQL = {
    "postgresql": (
        "(SELECT JSONB_AGG(JSONB_BUILD_OBJECT('role', m.role, 'clinic_id', m.clinic_id, "
        "'clinic_active', c.is_active, 'timezone', c.timezone, 'created_at', m.created_at, "
        "'pk', m.id)) FROM patients_clinicmembership m "
        "JOIN patients_clinic c ON c.id = m.clinic_id "
        "WHERE m.user_id = accounts_user.id AND m.is_active)"
    ),
    "sqlite": (
        "(SELECT JSON_GROUP_ARRAY(JSON_OBJECT('role', m.role, 'clinic_id', m.clinic_id, "
        "'clinic_active', c.is_active, 'timezone', c.timezone, 'created_at', m.created_at, "
        "'pk', m.id)) FROM patients_clinicmembership m "
        "JOIN patients_clinic c ON c.id = m.clinic_id "
        "WHERE m.user_id = accounts_user.id AND m.is_active)"
    ),
}
UNREAD_ALERTS_SQL = (
    "(SELECT COUNT(*) FROM core_notification n "
    "WHERE n.recipient_id = accounts_user.id AND n.read_at IS NULL)"
)


def load_request_user(user_id):
    """The user with `user_id` and what the request's layout and role checks read, or None."""
    user_model = get_user_model()
    memberships = RawSQL(MEMBERSHIPS_SQL[connection.vendor], (), output_field=JSONField())  # noqa: S611 # nosec B611 - fixed SQL, no input
    unread = RawSQL(UNREAD_ALERTS_SQL, (), output_field=IntegerField())  # noqa: S611 # nosec B611 - fixed SQL, no input
    # only_row, not .first(): an ORDER BY pk has the ORM match the ordering against each of
    # the ~55 selected columns, and PostgreSQL plan a sort, on every request, for one row.
    user = only_row(
        user_model._default_manager.select_related("patient_record__clinic")
        .annotate(membership_rows=memberships, unread_alerts=unread)
        .filter(pk=user_id)
    )
    if user is None:
        return None
    # PostgreSQL's aggregate of no rows is NULL, SQLite's an empty array.
    rows = user.membership_rows or []
    # Oldest first, as User.active_memberships promises (the first names the time zone).
    rows.sort(key=lambda row: (str(row["created_at"]), row["pk"]))
    user.set_loaded_memberships(
        [
            (row["role"], row["clinic_id"], bool(row["clinic_active"]), row["timezone"])
            for row in rows
        ]
    )
    del user.membership_rows
    return user


class RequestUserMixin:
    def get_user(self, user_id):
        user = load_request_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(RequestUserMixin, DjangoModelBackend):
    """Django's username/password backend, loading the user as above."""


class AuthenticationBackend(RequestUserMixin, AllauthBackend):
    """allauth's backend (sign-in by username or e-mail), loading the user as above."""
