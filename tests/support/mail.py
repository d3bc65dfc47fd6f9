"""A file email backend for worker-process tests: one file per message (duplicates show), an
optional delay inside the send, and a marker written before it, so a test can kill mid-send."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage


class SlowFileBackend(BaseEmailBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.directory = Path(os.environ["TEST_MAIL_DIR"])
        self.delay = float(os.environ.get("TEST_MAIL_DELAY", "0"))

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            message_id = message.extra_headers.get("Message-ID", "<none>").strip("<>")
            (self.directory / f"{message_id}.sending").write_text(str(os.getpid()))
            time.sleep(self.delay)
            (self.directory / f"{message_id}.{uuid.uuid4().hex}.eml").write_bytes(
                message.message().as_bytes()
            )
        return len(email_messages)
