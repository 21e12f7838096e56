"""rt-bedrock: Amazon Nova Sonic (Bedrock ``InvokeModelWithBidirectionalStream``)
behind the OpenAI Realtime protocol.

Modules, as in every rt provider plugin:

* :mod:`rt_bedrock.plugin` -- the hook implementations (thin glue).
* :mod:`rt_bedrock.provider` -- the deployment settings and the provider spec.
* :mod:`rt_bedrock.wire` -- Nova Sonic event builders and readers.
* :mod:`rt_bedrock.translator` -- the pure, per-session translator.
* :mod:`rt_bedrock.control` -- the private vocabulary between translator and upstream
  (stream hand-over requests and stream signals).
* :mod:`rt_bedrock.upstream` -- the SDK duplex stream(s) behind the core's Upstream seam.
* :mod:`rt_bedrock.voices` -- OpenAI voice names to Nova Sonic voice ids.
"""

from __future__ import annotations

__version__ = "0.1.0"
