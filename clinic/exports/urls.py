from django.urls import path

from clinic.exports import views

app_name = "exports"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:kind>.csv", views.download, name="download"),
]
