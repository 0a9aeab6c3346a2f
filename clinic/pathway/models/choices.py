from django.db import models


class Drug(models.TextChoices):
    KETAMINE = "ketamine", "Racemic ketamine"
    ESKETAMINE = "esketamine", "Esketamine nasal spray"


class Route(models.TextChoices):
    IV = "iv", "Intravenous (IV)"
    IM = "im", "Intramuscular (IM)"
    INTRANASAL = "intranasal", "Intranasal"
    ORAL = "oral", "Oral"
    SUBLINGUAL = "sublingual", "Sublingual"


class YesNoUnknown(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Unknown"
