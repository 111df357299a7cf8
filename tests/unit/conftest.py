"""Hypothesis settings for the property tests: modest by default, so the suite stays fast.

``PAYSIM_HYPOTHESIS_PROFILE=thorough`` runs ten times the examples (for a soak before a
release); ``deadline`` is off in both, because a shared CI machine's timing is not a
property of the code.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("PAYSIM_HYPOTHESIS_PROFILE", "default"))
