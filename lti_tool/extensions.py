"""Extensions created once and bound to an app with ``init_app``."""

from flask_wtf import CSRFProtect

csrf = CSRFProtect()
