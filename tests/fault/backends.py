"""An e-mail backend for worker processes in fault tests: it writes "start" to a marker file,
sleeps (so the test can kill the worker mid-task), then writes "sent" once per message."""

import os
import time

from django.core.mail.backends.base import BaseEmailBackend


class SlowMarkerBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        marker = os.environ["FAULT_MARKER_FILE"]
        with open(marker, "a") as log:
            log.write("start\n")
        time.sleep(float(os.environ.get("FAULT_SEND_SECONDS", "4")))
        with open(marker, "a") as log:
            for message in email_messages:
                log.write(f"sent {message.subject}\n")
        return len(email_messages)
