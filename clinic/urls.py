from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from clinic.core import views as core_views
from clinic.core.health import health

admin.site.site_header = "Clinic operations"
admin.site.site_title = "Clinic operations"
# The admin signs in through allauth's login, so its throttling, lockout and two-factor step
# cover the admin too; Django's own admin login form is never shown.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", core_views.home, name="home"),
    path("health/", health, name="health"),
    path("clinician/", core_views.clinician_home, name="clinician_home"),
    path("clinic-admin/", core_views.clinic_admin_home, name="clinic_admin_home"),
    path("patients/", include("clinic.patients.urls")),
    path("", include("clinic.pathway.urls")),
    path("ledger/", include("clinic.ledger.urls")),
    path("measures/", include("clinic.measures.urls")),
    path("notifications/", include("clinic.core.urls")),
    path("me/", include("clinic.portal.urls")),
    path("fhir/", include("clinic.fhir.urls")),
    path("exports/", include("clinic.exports.urls")),
    path("reports/", include("clinic.reports.urls")),
    path("clinic-admin/audit/", include("clinic.core.audit_urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "clinic.core.errors.bad_request"
handler403 = "clinic.core.errors.permission_denied"
handler404 = "clinic.core.errors.page_not_found"
handler500 = "clinic.core.errors.server_error"
