"""One module per instrument; importing this package registers them all.

The import order is the registry order within each rater group (patient-rated first), which is
the order clinicians see, hence isort is off.
"""

# isort: off
from clinic.measures.scales import phq9  # noqa: F401
from clinic.measures.scales import gad7  # noqa: F401
from clinic.measures.scales import qids_sr16  # noqa: F401
from clinic.measures.scales import pcl5  # noqa: F401
from clinic.measures.scales import madrs  # noqa: F401
from clinic.measures.scales import cadss  # noqa: F401
from clinic.measures.scales import bprs_positive  # noqa: F401
from clinic.measures.scales import moaas  # noqa: F401
# isort: on
