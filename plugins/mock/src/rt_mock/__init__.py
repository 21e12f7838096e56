"""rt-mock: a deterministic, offline realtime model, served as an rt provider.

``model: mock/<name>`` in a deployment gives a model that needs no network and
no key, answers every OpenAI Realtime (GA) client event the way the OpenAI
service does -- same events, same order, same shapes -- and always says the
same thing for the same input.  Use it to test voice apps in CI for free.

It is also the worked example of a provider plugin: see this package's README.
"""

from __future__ import annotations

from .provider import PROVIDER_NAME, MockSettings
from .translator import MockTranslator
from .upstream import MockUpstream

__version__ = "0.1.0"

__all__ = ["MockSettings", "MockTranslator", "MockUpstream", "PROVIDER_NAME", "__version__"]
